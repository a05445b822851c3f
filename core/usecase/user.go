package usecase

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// UserInput is one user added or edited by hand (the GUI's Add/Edit user
// dialog, the CLI's users add and users edit).
type UserInput struct {
	Project string
	// ID is the user's current ID (source email) when editing; "" adds a
	// new user.
	ID string
	// User holds the addresses, login names, user root, flags and support
	// options to store; its status, passwords and history are ignored
	// (an edited user keeps them).
	User project.User
	// SourcePassword and DestPassword, when not empty, are sealed and
	// replace the stored ones; empty keeps them (editing) or leaves none
	// (adding).
	SourcePassword, DestPassword []byte
	// ClearSourcePassword and ClearDestPassword drop the stored password
	// (then, without a source password, the user waits for the credential
	// request, as an addresses-only import).
	ClearSourcePassword, ClearDestPassword bool
}

// SaveUser adds or edits one user: it trims and checks the fields with
// the CSV import's rules (csvimport.CheckUser: *project.FieldError values
// named by field), seals the given passwords and stores the user. A new
// user starts Not Submitted; without a source password it is marked
// addresses-only (the credential request asks for it). An edited user
// keeps its status, history and the passwords not given; changing its
// source email re-keys it (store.ErrExists when that address is another
// user's). Adding an address already in the project is store.ErrExists.
// Passwords sealed for a save that fails are deleted again.
func SaveUser(st *store.Store, in UserInput) (project.User, error) {
	u := trimUser(in.User)
	if err := csvimport.CheckUser(u); err != nil {
		return u, err
	}
	if in.ClearSourcePassword && len(in.SourcePassword) > 0 || in.ClearDestPassword && len(in.DestPassword) > 0 {
		return u, errors.New("a password cannot be both given and cleared")
	}
	if _, err := st.Project(in.Project); err != nil {
		return u, err // the store names the project
	}
	srcRef, dstRef, err := sealUserPasswords(st, u.SourceEmail, in.SourcePassword, in.DestPassword)
	if err != nil {
		return u, err
	}
	if in.ID == "" {
		err = addNewUser(st, in.Project, &u, srcRef, dstRef)
	} else {
		err = st.UpdateUser(in.Project, in.ID, func(old *project.User) error {
			editUser(old, u, in, srcRef, dstRef)
			u = *old
			return nil
		})
	}
	if err != nil {
		deleteSecrets(st, srcRef, dstRef)
		return u, fmt.Errorf("saving user %s: %w", u.SourceEmail, err)
	}
	return u, nil
}

// addNewUser stores u as a new user of projectName with the sealed refs.
func addNewUser(st *store.Store, projectName string, u *project.User, srcRef, dstRef string) error {
	if _, err := st.User(projectName, u.ID()); err == nil {
		return fmt.Errorf("%s is already a user of %q (edit it instead): %w", u.SourceEmail, projectName, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	u.SourcePasswordRef, u.DestPasswordRef = srcRef, dstRef
	u.Status = project.StatusNotSubmitted
	u.AddressesOnly = srcRef == ""
	return st.PutUsers(projectName, []project.User{*u})
}

// editUser applies the typed fields and password changes to old.
func editUser(old *project.User, u project.User, in UserInput, srcRef, dstRef string) {
	old.SourceEmail, old.SourceLogin = u.SourceEmail, u.SourceLogin
	old.DestEmail, old.DestLogin = u.DestEmail, u.DestLogin
	old.UserRoot, old.Flags, old.SupportOptions = u.UserRoot, u.Flags, u.SupportOptions
	switch {
	case srcRef != "":
		old.SourcePasswordRef, old.AddressesOnly = srcRef, false
	case in.ClearSourcePassword:
		old.SourcePasswordRef, old.AddressesOnly = "", true
	}
	switch {
	case dstRef != "":
		old.DestPasswordRef = dstRef
	case in.ClearDestPassword:
		old.DestPasswordRef = ""
	}
}

// trimUser keeps the fields a face may set, trimmed.
func trimUser(in project.User) project.User {
	u := project.User{
		SourceEmail: strings.TrimSpace(in.SourceEmail),
		SourceLogin: strings.TrimSpace(in.SourceLogin),
		DestEmail:   strings.TrimSpace(in.DestEmail),
		DestLogin:   strings.TrimSpace(in.DestLogin),
		UserRoot:    strings.TrimSpace(in.UserRoot),
		Flags:       strings.TrimSpace(in.Flags),
	}
	for _, l := range in.SupportOptions {
		if l = strings.TrimSpace(l); l != "" {
			u.SupportOptions = append(u.SupportOptions, l)
		}
	}
	return u
}

// sealUserPasswords seals the non-empty passwords; on failure nothing
// stays sealed.
func sealUserPasswords(st *store.Store, who string, src, dst []byte) (srcRef, dstRef string, err error) {
	if len(src) > 0 {
		if srcRef, err = st.SetSecret(src); err != nil {
			return "", "", fmt.Errorf("sealing the password of %s: %w", who, err)
		}
	}
	if len(dst) > 0 {
		if dstRef, err = st.SetSecret(dst); err != nil {
			deleteSecrets(st, srcRef)
			return "", "", fmt.Errorf("sealing the destination password of %s: %w", who, err)
		}
	}
	return srcRef, dstRef, nil
}

// RemoveUsers deletes users (by source email, any case) with their
// sealed passwords and migration state, all or nothing: an address that
// is not a user of the project is store.ErrNotFound and nothing is
// deleted.
func RemoveUsers(st *store.Store, projectName string, ids []string) error {
	if len(ids) == 0 {
		return errors.New("no users to remove")
	}
	norm := make([]string, len(ids))
	for i, id := range ids {
		norm[i] = strings.ToLower(strings.TrimSpace(id))
	}
	if err := st.DeleteUsers(projectName, norm); err != nil {
		return fmt.Errorf("removing users: %w", err)
	}
	return nil
}
