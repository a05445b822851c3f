package csvimport

import (
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/project"
)

// CheckUser checks one user typed in by hand (not read from a file) with
// the rules a CSV row gets: source and destination address (both needed,
// as in the MigrationWiz format), no control characters in the login
// names, user root and flags, and project.User.Validate. Problems are
// *project.FieldError values joined with errors.Join, named by the
// project.User JSON field (source_email, dest_email, source_login,
// dest_login, user_root, flags, support_options).
func CheckUser(u project.User) error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &project.FieldError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	if why := addressProblem(u.SourceEmail, "source"); why != "" {
		bad("source_email", "%s", why)
	}
	if why := addressProblem(u.DestEmail, "destination"); why != "" {
		bad("dest_email", "%s", why)
	}
	for _, fv := range []struct{ field, v string }{
		{"source_login", u.SourceLogin}, {"dest_login", u.DestLogin}, {"user_root", u.UserRoot}, {"flags", u.Flags},
	} {
		if hasControl(fv.v) {
			bad(fv.field, "contains control characters (%q)", fv.v)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return u.Validate()
}
