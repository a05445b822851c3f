package usecase

import (
	"crypto/subtle"
	"fmt"
	"io"
	"slices"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// ReadUsersCSVWith is ReadUsersCSV with every csvimport option, e.g. the
// destination domain of a Microsoft-format file; a bad domain is a
// *project.FieldError "dest_domain" and nothing is read.
func ReadUsersCSVWith(r io.Reader, opts csvimport.Options) (*csvimport.Result, error) {
	if err := csvimport.CheckDestDomain(opts.DestDomain); err != nil {
		return nil, err
	}
	lr := &io.LimitedReader{R: r, N: MaxCSVBytes + 1}
	res, err := csvimport.Parse(lr, opts)
	if lr.N <= 0 {
		return nil, fmt.Errorf("the file is larger than %d MB", MaxCSVBytes>>20)
	}
	return res, err
}

// RowKind says what an import does with one valid row.
type RowKind string

// The row kinds of an ImportPlan.
const (
	RowNew       RowKind = "new"       // not in the project yet
	RowUpdated   RowKind = "updated"   // in the project; something changes
	RowUnchanged RowKind = "unchanged" // in the project as the file says
)

// RowPlan is what importing one valid row would change.
type RowPlan struct {
	Kind RowKind
	// Changes name what changes for an updated user, e.g. "destination
	// email", "source password replaced".
	Changes []string
	// PasswordKept: the file gives a different password but the stored
	// one stays (UsersImport.KeepPasswords).
	PasswordKept bool

	sealSource, sealDest bool // the file's password is to be sealed
	replaced             int  // stored passwords the file's replace
}

// ImportPlan is what ImportUsers would do, row by row (Rows is parallel
// to Result.Users), without storing anything: the GUI preview's new /
// updated / unchanged marks, and the counts both faces print.
type ImportPlan struct {
	Rows                             []RowPlan
	New, Updated, Unchanged          int
	PasswordsReplaced, PasswordsKept int // stored passwords the file's differ from
	merged                           []project.User
}

// PlanImport compares the file's users with the project's under the
// merge rule of ImportUsers. A password counts as replaced only when the
// file's differs from the stored one (they are compared sealed-side,
// never shown); with in.KeepPasswords it is kept instead.
func PlanImport(st *store.Store, in UsersImport) (ImportPlan, error) {
	var plan ImportPlan
	if _, err := st.Project(in.Project); err != nil {
		return plan, err // the store names the project
	}
	existing, err := st.Users(in.Project)
	if err != nil {
		return plan, fmt.Errorf("reading the users of %q: %w", in.Project, err)
	}
	byID := make(map[string]project.User, len(existing))
	for _, u := range existing {
		byID[u.ID()] = u
	}
	plan.Rows = make([]RowPlan, len(in.Result.Users))
	plan.merged = make([]project.User, len(in.Result.Users))
	for i, u := range in.Result.Users {
		old, known := byID[u.ID()]
		if known {
			u = mergeUser(u, old, in.AddressesOnly)
		}
		rp := &plan.Rows[i]
		if c, ok := in.Result.Passwords[u.ID()]; ok && !in.AddressesOnly {
			if err := planPasswords(st, rp, old, c, in.KeepPasswords); err != nil {
				return plan, err
			}
		}
		if rp.sealSource {
			u.AddressesOnly = false
		}
		plan.merged[i] = u
		plan.count(rp, known, old, u)
	}
	return plan, nil
}

// count sets the row's kind and changes and adds it to the totals.
func (plan *ImportPlan) count(rp *RowPlan, known bool, old, u project.User) {
	switch {
	case !known:
		rp.Kind, rp.Changes = RowNew, nil
		plan.New++
		return
	case rp.PasswordKept:
		plan.PasswordsKept++
	}
	plan.PasswordsReplaced += rp.replaced
	for _, f := range []struct {
		name     string
		was, now string
	}{{"source login", old.SourceLogin, u.SourceLogin}, {"destination email", old.DestEmail, u.DestEmail},
		{"destination login", old.DestLogin, u.DestLogin}, {"user root", old.UserRoot, u.UserRoot}, {"flags", old.Flags, u.Flags}} {
		if f.was != f.now {
			rp.Changes = append(rp.Changes, f.name)
		}
	}
	if !slices.Equal(old.SupportOptions, u.SupportOptions) {
		rp.Changes = append(rp.Changes, "support options")
	}
	if old.AddressesOnly != u.AddressesOnly && !u.AddressesOnly {
		rp.Changes = append(rp.Changes, "no longer waits for a password")
	} else if old.AddressesOnly != u.AddressesOnly {
		rp.Changes = append(rp.Changes, "waits for the user's password")
	}
	if len(rp.Changes) == 0 {
		rp.Kind = RowUnchanged
		plan.Unchanged++
		return
	}
	rp.Kind = RowUpdated
	plan.Updated++
}

// planPasswords decides which of the file's passwords c are sealed for a
// user whose stored record is old (zero for a new user).
func planPasswords(st *store.Store, rp *RowPlan, old project.User, c csvimport.Creds, keep bool) error {
	for _, p := range []struct {
		plain, ref, what string
		seal             *bool
	}{{c.Source, old.SourcePasswordRef, "source password", &rp.sealSource}, {c.Dest, old.DestPasswordRef, "destination password", &rp.sealDest}} {
		if p.plain == "" {
			continue
		}
		if p.ref == "" {
			*p.seal = true
			if old.SourceEmail != "" {
				rp.Changes = append(rp.Changes, p.what+" added")
			}
			continue
		}
		stored, err := st.Secret(p.ref)
		if err != nil {
			return fmt.Errorf("reading the stored %s of %s: %w", p.what, old.SourceEmail, err)
		}
		same := subtle.ConstantTimeCompare(stored, []byte(p.plain)) == 1
		clear(stored)
		switch {
		case same:
		case keep:
			rp.PasswordKept = true
		default:
			*p.seal = true
			rp.replaced++
			rp.Changes = append(rp.Changes, p.what+" replaced")
		}
	}
	return nil
}
