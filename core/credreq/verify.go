package credreq

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/project"
)

// IMAPVerifier checks a login name and password by logging in to the
// project's IMAP source with them, over the endpoint's security (TLS
// verified or pinned as for a migration). A refused login is
// ErrWrongPassword; opt may be nil.
func IMAPVerifier(opt *imapconn.Options) Verifier {
	return func(ctx context.Context, p project.Project, u project.User, login, password string) error {
		if !p.Source.TakesUserPasswords() {
			return project.Setupf("project %q has no IMAP source to check passwords against", p.Name)
		}
		c, err := imapconn.Dial(ctx, p.Source, imapconn.Credentials{User: login, Password: password}, opt)
		if err != nil {
			// Only the server's own refusal (a NO to LOGIN/AUTHENTICATE)
			// is a wrong password; anything decided before a login was
			// sent is a setup error (project.ErrSetup).
			_, refused := imapconn.ServerError(err)
			if refused && errors.Is(err, imapconn.ErrAuth) && !errors.Is(err, project.ErrSetup) {
				return fmt.Errorf("%w: %w", ErrWrongPassword, err)
			}
			if !refused && errors.Is(err, imapconn.ErrAuth) {
				return project.AsSetup(err)
			}
			return err
		}
		c.Close()
		return nil
	}
}
