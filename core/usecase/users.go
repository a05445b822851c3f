package usecase

import (
	"errors"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// MaxCSVBytes bounds a users CSV file.
const MaxCSVBytes = 64 << 20

// ErrRowErrors refuses an import whose file has row errors when the admin
// did not accept importing just the valid rows.
var ErrRowErrors = errors.New("the file has row errors: nothing imported")

// ReadUsersCSV parses a users CSV (MigrationWiz or Microsoft format) for
// a preview: valid users, per-row errors, warnings. Nothing is stored.
// addressesOnly ignores passwords (they will be requested from the
// users).
func ReadUsersCSV(r io.Reader, addressesOnly bool) (*csvimport.Result, error) {
	lr := &io.LimitedReader{R: r, N: MaxCSVBytes + 1}
	res, err := csvimport.Parse(lr, csvimport.Options{AddressesOnly: addressesOnly})
	if lr.N <= 0 {
		return nil, fmt.Errorf("the file is larger than %d MB", MaxCSVBytes>>20)
	}
	return res, err
}

// UsersImport is a parsed CSV to store.
type UsersImport struct {
	Project string
	Result  *csvimport.Result
	// AddressesOnly is the mode the file was read in (ReadUsersCSV).
	AddressesOnly bool
	// AcceptValid stores the valid rows of a file with row errors;
	// otherwise such a file is refused with ErrRowErrors.
	AcceptValid bool
	// KeepPasswords keeps a user's stored password when the file gives a
	// different one (the file's password only fills a user who has none).
	KeepPasswords bool
}

// ImportSummary says what an import stored.
type ImportSummary struct {
	Imported, New, Updated int
	Unchanged              int // users already in the project as the file says (counted in Updated too)
	Skipped                int // rows with errors left out
	// PasswordsReplaced counts stored passwords the file replaced with
	// different ones; PasswordsKept those kept by KeepPasswords.
	PasswordsReplaced, PasswordsKept int
}

// ImportUsers merges the CSV's users with the project's and stores them,
// sealing their passwords: the one import of both faces.
//
// Merge rule: a user already in the project keeps its status, last pass,
// notification date, sealed passwords (unless the file gives different
// ones and KeepPasswords is not set; an equal one is not sealed again)
// and support options (unless the file gives some). PlanImport shows
// the same rule row by row before anything is stored. Addresses-only means
// "waiting for the user's password": an addresses-only import ignores the
// file's passwords and marks the users that have no sealed source
// password yet; a normal import keeps the mark only while the user still
// has no source password. When saving fails, the passwords sealed for it
// are deleted again.
func ImportUsers(st *store.Store, in UsersImport) (ImportSummary, error) {
	var sum ImportSummary
	res := in.Result
	if len(res.Errors) > 0 && !in.AcceptValid {
		return sum, fmt.Errorf("%d row error(s) in %d row(s): %w", len(res.Errors), res.Rows, ErrRowErrors)
	}
	if len(res.Users) == 0 {
		return sum, errors.New("the file holds no valid user rows")
	}
	plan, err := PlanImport(st, in)
	if err != nil {
		return sum, err
	}
	users := plan.merged
	var sealed []string
	if !in.AddressesOnly {
		if sealed, err = sealPasswords(st, users, plan.Rows, res.Passwords); err != nil {
			return sum, err
		}
	}
	if err := st.PutUsers(in.Project, users); err != nil {
		deleteSecrets(st, sealed...)
		return sum, fmt.Errorf("saving %d users: %w", len(users), err)
	}
	sum.Imported, sum.Skipped = len(users), len(res.Errors)
	sum.New, sum.Updated, sum.Unchanged = plan.New, plan.Updated+plan.Unchanged, plan.Unchanged
	sum.PasswordsReplaced, sum.PasswordsKept = plan.PasswordsReplaced, plan.PasswordsKept
	return sum, nil
}

// mergeUser keeps what the project knows of a re-imported user.
func mergeUser(u, old project.User, addressesOnly bool) project.User {
	u.Status, u.LastPass, u.Notified = old.Status, old.LastPass, old.Notified
	if len(u.SupportOptions) == 0 {
		u.SupportOptions = old.SupportOptions
	}
	u.SourcePasswordRef, u.DestPasswordRef = old.SourcePasswordRef, old.DestPasswordRef
	// Addresses-only means "still waiting for a password": a user who gave
	// one (credential request) is not asked again by a re-import.
	if addressesOnly {
		u.AddressesOnly = old.SourcePasswordRef == ""
	} else {
		u.AddressesOnly = old.AddressesOnly && old.SourcePasswordRef == ""
	}
	return u
}

// sealPasswords seals the passwords the plan's rows mark for sealing
// (new ones and those replacing a different stored one), all in one
// store transaction (store.SetSecrets), sets their references and returns
// them. A user given a source password is no longer addresses-only.
func sealPasswords(st *store.Store, users []project.User, rows []RowPlan, pws map[string]csvimport.Creds) ([]string, error) {
	var plains [][]byte
	var refs []*string
	for i := range users {
		u := &users[i]
		c, ok := pws[u.ID()]
		if !ok {
			continue
		}
		for _, s := range []struct {
			plain string
			ref   *string
			seal  bool
		}{{c.Source, &u.SourcePasswordRef, rows[i].sealSource}, {c.Dest, &u.DestPasswordRef, rows[i].sealDest}} {
			if s.plain != "" && s.seal {
				plains = append(plains, []byte(s.plain))
				refs = append(refs, s.ref)
			}
		}
	}
	if len(plains) == 0 {
		return nil, nil
	}
	sealed, err := st.SetSecrets(plains)
	for _, p := range plains {
		clear(p)
	}
	if err != nil {
		return nil, fmt.Errorf("sealing the passwords of %d users: %w", len(users), err)
	}
	for i, ref := range sealed {
		*refs[i] = ref
	}
	for i := range users {
		if users[i].SourcePasswordRef != "" {
			users[i].AddressesOnly = false
		}
	}
	return sealed, nil
}
