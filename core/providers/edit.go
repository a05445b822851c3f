package providers

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of Remove.
var (
	ErrNotFound      = errors.New("not in the catalog")
	ErrAlreadyHidden = errors.New("already hidden")
)

// Removal tells what Remove did.
type Removal int

// What Remove did.
const (
	RemovedUser     Removal = iota + 1 // deleted a user-added entry
	RemovedOverride                    // deleted a user entry: the built-in entry of that name is back
	HidBuiltin                         // added a "hidden" entry for a built-in provider
)

// UserIndex is the index in user of the entry named name
// (case-insensitive, spaces trimmed), or -1.
func UserIndex(user []Entry, name string) int {
	k := key(name)
	for i, u := range user {
		if key(u.Name) == k {
			return i
		}
	}
	return -1
}

// checkOthers reports the user entries other than skip that Save would
// refuse, with their index in the file, so that an edit does not fail on
// an entry the user did not touch without saying which one.
func checkOthers(path string, user []Entry, skip int) error {
	var errs []error
	for i, u := range user {
		if i == skip {
			continue
		}
		if err := u.Validate(); err != nil {
			errs = append(errs, &EntryError{File: path, Index: i + 1, Name: u.Name, Err: err})
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("fix or remove these entries of the user catalog first: %w", errors.Join(errs...))
	}
	return nil
}

// Put validates e and saves it in the user file of dir, replacing the user
// entry named oldName ("" means e.Name; a rename when they differ) or
// adding it. An e.Name that matches a built-in provider overrides it. A
// bad e returns its Validate error (*project.FieldError values) unwrapped.
func Put(dir, oldName string, e Entry) error {
	e.Name = strings.TrimSpace(e.Name)
	e.EWSURL = strings.TrimSpace(e.EWSURL)
	e.OWAURL = strings.TrimSpace(e.OWAURL)
	e.Notes = strings.TrimSpace(e.Notes)
	e.Hidden = false
	if err := e.Validate(); err != nil {
		return err
	}
	user, err := LoadUser(dir)
	if err != nil {
		return err
	}
	if oldName == "" {
		oldName = e.Name
	}
	idx := UserIndex(user, oldName)
	if idx < 0 {
		idx = UserIndex(user, e.Name)
	}
	if j := UserIndex(user, e.Name); j >= 0 && j != idx {
		if !user[j].Hidden {
			return fmt.Errorf("a provider named %q is already in the user catalog", user[j].Name)
		}
		user = append(user[:j], user[j+1:]...) // the new entry replaces the hidden one
		if idx > j {
			idx--
		}
	}
	if err := checkOthers(UserPath(dir), user, idx); err != nil {
		return err
	}
	if idx >= 0 {
		user[idx] = e
	} else {
		user = append(user, e)
	}
	return Save(dir, user)
}

// Remove deletes the user entry named name (a hidden one excepted:
// ErrAlreadyHidden) or, when the name is a built-in provider only, adds a
// "hidden" user entry for it. A name in neither is ErrNotFound.
func Remove(dir, name string) (Removal, error) {
	user, err := LoadUser(dir)
	if err != nil {
		return 0, err
	}
	c, _ := Load(dir)
	idx := UserIndex(user, name)
	if err := checkOthers(c.Path, user, idx); err != nil {
		return 0, err
	}
	var what Removal
	switch {
	case idx >= 0 && user[idx].Hidden:
		return 0, fmt.Errorf("provider %q: %w", name, ErrAlreadyHidden)
	case idx >= 0:
		what = RemovedUser
		if it, ok := c.Find(name); ok && it.Origin == Override {
			what = RemovedOverride
		}
		user = append(user[:idx], user[idx+1:]...)
	default:
		it, ok := c.Find(name)
		if !ok {
			return 0, fmt.Errorf("provider %q: %w", name, ErrNotFound)
		}
		what = HidBuiltin
		user = append(user, Entry{Name: it.Name, Hidden: true})
	}
	if err := Save(dir, user); err != nil {
		return 0, err
	}
	return what, nil
}
