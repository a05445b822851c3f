package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

const userEditUsage = `  mailferry users add --project P --user EMAIL --dest EMAIL [--source-login L] [--dest-login L]
        [--flags F] [--user-root R] [--password-env VAR | --password-stdin]
        [--dest-password-env VAR | --dest-password-stdin]
        (without a password the user waits for the credential request)
  mailferry users edit --project P --user EMAIL [--new-user EMAIL] [--dest EMAIL] [--source-login L]
        [--dest-login L] [--flags F] [--user-root R] [--password-env VAR | --password-stdin]
        [--dest-password-env VAR | --dest-password-stdin] [--clear-password] [--clear-dest-password]
        (flags not given keep their values)
  mailferry users remove --project P --user EMAIL[,EMAIL...] ...
`

// userFlags are the fields users add and users edit share.
type userFlags struct {
	fs                              *flag.FlagSet
	projName, email                 *string
	dest, srcLogin, dstLogin, flags *string
	userRoot                        *string
	srcPass, dstPass                *secretFlags
	clearSrc, clearDst              *bool
}

func newUserFlags(e *env, name string, edit bool) *userFlags {
	f := &userFlags{fs: e.newFlags(name, false)}
	f.projName = f.fs.String("project", "", "project name")
	f.email = f.fs.String("user", "", "the user's source email")
	f.dest = f.fs.String("dest", "", "destination email")
	f.srcLogin = f.fs.String("source-login", "", "source login name (empty: the source email)")
	f.dstLogin = f.fs.String("dest-login", "", "destination login name")
	f.flags = f.fs.String("flags", "", "MigrationWiz Flags value")
	f.userRoot = f.fs.String("user-root", "", "Microsoft UserRoot value")
	f.srcPass = addSecretFlags(f.fs, "password", "user's source password")
	f.dstPass = addSecretFlags(f.fs, "dest-password", "user's destination password")
	if edit {
		f.clearSrc = f.fs.Bool("clear-password", false, "drop the stored source password (it will be requested)")
		f.clearDst = f.fs.Bool("clear-dest-password", false, "drop the stored destination password")
	}
	return f
}

// passwords reads the password flags (at most one from stdin).
func (f *userFlags) passwords(e *env) (src, dst []byte, err error) {
	if f.srcPass.stdin && f.dstPass.stdin {
		return nil, nil, usagef(userEditUsage, "only one password can come from standard input: use --dest-password-env VAR")
	}
	if src, err = f.srcPass.read(e, userEditUsage); err != nil {
		return nil, nil, err
	}
	if dst, err = f.dstPass.read(e, userEditUsage); err != nil {
		clear(src)
		return nil, nil, err
	}
	return src, dst, nil
}

// usersAdd adds one user (usecase.SaveUser, the GUI's Add user).
func usersAdd(e *env, args []string) error {
	f := newUserFlags(e, "users add", false)
	if _, err := parse(f.fs, args, userEditUsage, 0, 0); err != nil {
		return err
	}
	switch {
	case *f.projName == "":
		return usagef(userEditUsage, "--project is required")
	case *f.email == "":
		return usagef(userEditUsage, "--user is required")
	}
	src, dst, err := f.passwords(e)
	if err != nil {
		return err
	}
	defer clear(src)
	defer clear(dst)
	st, err := e.open()
	if err != nil {
		return err
	}
	u, err := usecase.SaveUser(st, usecase.UserInput{Project: *f.projName, SourcePassword: src, DestPassword: dst,
		User: project.User{SourceEmail: *f.email, DestEmail: *f.dest, SourceLogin: *f.srcLogin, DestLogin: *f.dstLogin,
			Flags: *f.flags, UserRoot: *f.userRoot}})
	if err != nil {
		return reportUserError(e, err)
	}
	fmt.Fprintf(e.stdout, "added user %s → %s to %q (%s)\n", u.SourceEmail, u.DestEmail, *f.projName, passwordState(u))
	return nil
}

// usersEdit changes one user in place (usecase.SaveUser, the GUI's Edit
// user): flags not given keep the stored values.
func usersEdit(e *env, args []string) error {
	f := newUserFlags(e, "users edit", true)
	newEmail := f.fs.String("new-user", "", "change the source email to this address")
	if _, err := parse(f.fs, args, userEditUsage, 0, 0); err != nil {
		return err
	}
	switch {
	case *f.projName == "":
		return usagef(userEditUsage, "--project is required")
	case *f.email == "":
		return usagef(userEditUsage, "--user is required")
	case *f.clearSrc && f.srcPass.given(), *f.clearDst && f.dstPass.given():
		return usagef(userEditUsage, "a password cannot be both given and cleared")
	}
	set := given(f.fs)
	if !anyGiven(set, "new-user", "dest", "source-login", "dest-login", "flags", "user-root", "password-env", "password-stdin",
		"dest-password-env", "dest-password-stdin", "clear-password", "clear-dest-password") {
		return usagef(userEditUsage, "nothing to change: give the fields to change")
	}
	src, dst, err := f.passwords(e)
	if err != nil {
		return err
	}
	defer clear(src)
	defer clear(dst)
	st, err := e.open()
	if err != nil {
		return err
	}
	id := strings.ToLower(strings.TrimSpace(*f.email))
	u, err := st.User(*f.projName, id)
	if err != nil {
		return fmt.Errorf("project %q, user %s: %w", *f.projName, id, err)
	}
	for _, c := range []struct {
		flag     string
		from, to *string
	}{{"new-user", newEmail, &u.SourceEmail}, {"dest", f.dest, &u.DestEmail}, {"source-login", f.srcLogin, &u.SourceLogin},
		{"dest-login", f.dstLogin, &u.DestLogin}, {"flags", f.flags, &u.Flags}, {"user-root", f.userRoot, &u.UserRoot}} {
		if set[c.flag] {
			*c.to = *c.from
		}
	}
	u, err = usecase.SaveUser(st, usecase.UserInput{Project: *f.projName, ID: id, User: u, SourcePassword: src, DestPassword: dst,
		ClearSourcePassword: *f.clearSrc, ClearDestPassword: *f.clearDst})
	if err != nil {
		return reportUserError(e, err)
	}
	fmt.Fprintf(e.stdout, "saved user %s → %s (%s)\n", u.SourceEmail, u.DestEmail, passwordState(u))
	return nil
}

// usersRemove deletes users (usecase.RemoveUsers, the GUI's Delete
// selected): all or nothing.
func usersRemove(e *env, args []string) error {
	fs := e.newFlags("users remove", false)
	projName := fs.String("project", "", "project name")
	var emails listFlag
	fs.Var(&emails, "user", "source `EMAIL` of a user to remove (repeatable, or comma-separated)")
	if _, err := parse(fs, args, userEditUsage, 0, 0); err != nil {
		return err
	}
	var ids []string
	for _, l := range emails {
		for _, id := range strings.Split(l, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	switch {
	case *projName == "":
		return usagef(userEditUsage, "--project is required")
	case len(ids) == 0:
		return usagef(userEditUsage, "--user is required")
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	if _, err := st.Project(*projName); err != nil {
		return err
	}
	if err := usecase.RemoveUsers(st, *projName, ids); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("project %q: %w (nothing removed)", *projName, err)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d user(s) from %q with their passwords and migration state\n", len(ids), *projName)
	return nil
}

// anyGiven reports whether one of names was given.
func anyGiven(set map[string]bool, names ...string) bool {
	for _, n := range names {
		if set[n] {
			return true
		}
	}
	return false
}

// reportUserError prints field errors as "invalid: field: reason" lines.
func reportUserError(e *env, err error) error {
	var fe *project.FieldError
	if errors.As(err, &fe) {
		reportFieldErrors(e.stderr, err)
		return errReported
	}
	return err
}

// passwordState says whether a user has a source password.
func passwordState(u project.User) string {
	switch {
	case u.SourcePasswordRef != "":
		return "password sealed"
	case u.AddressesOnly:
		return "no password: the credential request asks the user for it"
	}
	return "no password"
}
