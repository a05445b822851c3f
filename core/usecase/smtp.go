package usecase

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// SMTPChange is a project's SMTP settings as the admin gave them.
type SMTPChange struct {
	Project string
	// SMTP holds the settings; its PasswordRef is ignored: the stored
	// password is kept while the login stays the same.
	SMTP project.SMTP
	// Password is a new SMTP password; nil keeps the stored one.
	Password []byte
}

// SMTPSaved is what SaveSMTP stored.
type SMTPSaved struct {
	SMTP project.SMTP
	// NoPassword: a login is set but no password is stored for it, so no
	// mail can be sent until one is given.
	NoPassword bool
}

// SaveSMTP validates a project's SMTP settings, seals a new password and
// saves them: the one way both faces store them. Validation problems come
// back as *project.FieldError values (smtp.FIELD) before anything is
// sealed; a new password is deleted again when saving fails, and the
// store drops a replaced one.
func SaveSMTP(st *store.Store, c SMTPChange) (SMTPSaved, error) {
	p, err := st.Project(c.Project)
	if err != nil {
		return SMTPSaved{}, err // the store names the project
	}
	cfg := c.SMTP
	cfg.PasswordRef = ""
	if cfg.User == p.SMTP.User {
		cfg.PasswordRef = p.SMTP.PasswordRef // a password belongs to its login
	}
	errs := []error{CheckSMTP(cfg)}
	if c.Password != nil && cfg.User == "" {
		errs = append(errs, &project.FieldError{Field: "smtp.password", Reason: "a password needs a login"})
	}
	if err := errors.Join(errs...); err != nil {
		return SMTPSaved{SMTP: p.SMTP}, err
	}
	var newRef string
	if c.Password != nil {
		if newRef, err = st.SetSecret(c.Password); err != nil {
			return SMTPSaved{SMTP: p.SMTP}, fmt.Errorf("sealing the SMTP password: %w", err)
		}
		cfg.PasswordRef = newRef
	}
	err = st.UpdateProject(p.Name, func(q *project.Project) error {
		q.SMTP = cfg
		return nil
	})
	if err != nil {
		if newRef != "" {
			deleteSecrets(st, newRef)
		}
		return SMTPSaved{SMTP: p.SMTP}, fmt.Errorf("saving the SMTP settings: %w", err)
	}
	return SMTPSaved{SMTP: cfg, NoPassword: cfg.User != "" && cfg.PasswordRef == ""}, nil
}

// CheckSMTP validates SMTP settings field by field (notify.ValidateSMTP
// without its ErrNotConfigured marker): what SaveSMTP refuses.
func CheckSMTP(cfg project.SMTP) error {
	if err := notify.ValidateSMTP(cfg); err != nil {
		return fieldErrorsOnly(err)
	}
	return nil
}

// fieldErrorsOnly drops the ErrNotConfigured marker that ValidateSMTP
// wraps around its field errors: the fields say what is missing.
func fieldErrorsOnly(err error) error {
	var out []error
	for _, e := range leafErrors(err) {
		if e != notify.ErrNotConfigured {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// leafErrors splits errors.Join trees (and wrappers of them) into their
// leaves.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// SMTPTest asks for a test message.
type SMTPTest struct {
	Project string
	// SMTP, when set, is tested instead of the stored settings (the GUI
	// tests the form as it stands); the stored password is used while the
	// login is the same.
	SMTP *project.SMTP
	// Password replaces the stored password for this test (nil: stored).
	Password []byte
	To       string
	Options  *notify.Options
}

// TestSMTP sends the test message of a project's SMTP settings (stored or
// as given) to one address: the one SMTP test of both faces. Incomplete
// settings are a setup error (notify.ErrNotConfigured).
func TestSMTP(ctx context.Context, st *store.Store, t SMTPTest) error {
	if !project.ValidEmail(t.To) {
		return testRecipientError(t.To)
	}
	p, err := st.Project(t.Project)
	if err != nil {
		return err // the store names the project
	}
	cfg := p.SMTP
	if t.SMTP != nil {
		cfg = *t.SMTP
		cfg.PasswordRef = ""
		if cfg.User == p.SMTP.User {
			cfg.PasswordRef = p.SMTP.PasswordRef
		}
	}
	if err := notify.ValidateSMTP(cfg); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, err)
	}
	var pw string
	switch {
	case t.Password != nil:
		pw = string(t.Password)
	case cfg.PasswordRef != "":
		b, err := st.Secret(cfg.PasswordRef)
		if err != nil {
			return fmt.Errorf("project %q: SMTP password: %w", p.Name, project.AsSetup(err))
		}
		pw = string(b)
	}
	if cfg.User != "" && pw == "" {
		return fmt.Errorf("project %q: %w: SMTP user %q has no password", p.Name, notify.ErrNotConfigured, cfg.User)
	}
	cust := p.Customer
	if cust == "" {
		cust = p.Name
	}
	return notify.SendTest(ctx, cfg, pw, t.To, cust, t.Options)
}

// CheckSMTPTest checks settings and a test recipient as TestSMTP will,
// for a form to mark its fields before anything is sent.
func CheckSMTPTest(cfg project.SMTP, to string) error {
	errs := []error{CheckSMTP(cfg)}
	if !project.ValidEmail(to) {
		errs = append(errs, testRecipientError(to))
	}
	return errors.Join(errs...)
}

func testRecipientError(to string) error {
	return &project.FieldError{Field: "smtp.test_to", Reason: fmt.Sprintf("test recipient %q is not an email address", to)}
}
