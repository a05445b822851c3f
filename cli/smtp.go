package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

const smtpUsage = `  mailferry smtp set --project P --host H [--port N] [--security ssl|starttls|none] --from ADDR
        [--user U (--password-env VAR | --password-stdin)]     (for notifications, links, reports)
  mailferry smtp show --project P [--json]
  mailferry smtp test --project P --to ADDR                     (sends one test message)
`

func init() {
	register("smtp", smtpUsage, func(e *env, args []string) error {
		return subcommand(e, args, smtpUsage, map[string]func(*env, []string) error{
			"set":  smtpSet,
			"show": smtpShow,
			"test": smtpTest,
		})
	})
}

// smtpSet creates or changes the project's SMTP settings in place: flags
// not given keep their stored values. The password is kept unless a new
// one is given (or --user changes without one: then it is dropped);
// UpdateProject deletes a replaced or dropped password's secret.
func smtpSet(e *env, args []string) error {
	fs := e.newFlags("smtp set", false)
	var (
		projName = fs.String("project", "", "project name")
		host     = fs.String("host", "", "SMTP server host name or address")
		port     = fs.Int("port", 0, "SMTP port (default 465 with ssl, 587 with starttls, 25 with none)")
		security = fs.String("security", "", "ssl, starttls or none (default starttls)")
		from     = fs.String("from", "", "sender address of the emails")
		user     = fs.String("user", "", "SMTP login (\"\" = no login)")
	)
	password := addSecretFlags(fs, "password", "SMTP password")
	if _, err := parse(fs, args, smtpUsage, 0, 0); err != nil {
		return err
	}
	set := given(fs)
	if *projName == "" {
		return usagef(smtpUsage, "--project is required")
	}
	if password.env != "" && password.stdin {
		return usagef(smtpUsage, "use either --password-env or --password-stdin, not both")
	}
	st, p, err := e.openProject(e.open, *projName)
	if err != nil {
		return err
	}
	cfg := p.SMTP
	oldSec := cfg.Security
	if set["host"] {
		cfg.Host = strings.TrimSpace(*host)
	}
	if set["security"] {
		cfg.Security = project.Security(strings.ToLower(*security))
	} else if cfg.Security == "" {
		cfg.Security = project.SecurityStartTLS
	}
	switch {
	case set["port"]:
		cfg.Port = *port
	case cfg.Port == 0 || (oldSec != "" && cfg.Port == project.DefaultSMTPPort(oldSec)):
		cfg.Port = project.DefaultSMTPPort(cfg.Security)
	}
	if set["from"] {
		cfg.From = strings.TrimSpace(*from)
	}
	if set["user"] {
		cfg.User = strings.TrimSpace(*user)
	}
	if password.given() && cfg.User == "" {
		return usagef(smtpUsage, "a password needs --user")
	}
	pw, err := password.read(e, smtpUsage)
	if err != nil {
		return err
	}
	defer clear(pw)
	saved, err := usecase.SaveSMTP(st, usecase.SMTPChange{Project: p.Name, SMTP: cfg, Password: pw})
	if err != nil {
		var fe *project.FieldError
		if errors.As(err, &fe) {
			reportSMTPErrors(e, err)
			return errReported
		}
		return err
	}
	cfg = saved.SMTP
	fmt.Fprintf(e.stdout, "SMTP of project %q: %s\n", p.Name, describeSMTP(cfg))
	if saved.NoPassword {
		fmt.Fprintln(e.stderr, "note: no SMTP password stored (give --password-env VAR or --password-stdin)")
	}
	if cfg.User != "" && cfg.Security == project.SecurityNone && !isLoopback(cfg.Host) {
		fmt.Fprintln(e.stderr, "note: with --security none the password would travel in clear, so MailFerry will refuse to log in to this server")
	}
	return nil
}

// reportSMTPErrors prints each problem of notify.ValidateSMTP as
// "invalid: smtp.FIELD: reason".
func reportSMTPErrors(e *env, err error) {
	for _, l := range flatten(err) {
		if errors.Is(l, notify.ErrNotConfigured) && l.Error() == notify.ErrNotConfigured.Error() {
			continue
		}
		fmt.Fprintf(e.stderr, "invalid: %v\n", l)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describeSMTP is one human line about SMTP settings (never a secret).
func describeSMTP(cfg project.SMTP) string {
	if cfg.Host == "" {
		return "not configured"
	}
	s := fmt.Sprintf("%s:%d %s from %s", cfg.Host, cfg.Port, cfg.Security, cfg.From)
	if cfg.User != "" {
		pw := "password set"
		if cfg.PasswordRef == "" {
			pw = "no password"
		}
		s += fmt.Sprintf(" user %s (%s)", cfg.User, pw)
	}
	return s
}

func smtpShow(e *env, args []string) error {
	fs := e.newFlags("smtp show", true)
	projName := fs.String("project", "", "project name")
	if _, err := parse(fs, args, smtpUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(smtpUsage, "--project is required")
	}
	_, p, err := e.openProject(e.openRead, *projName)
	if err != nil {
		return err
	}
	if p.SMTP.Host == "" {
		return fmt.Errorf("project %q has no SMTP settings (set them with: mailferry smtp set --project %q ...)", p.Name, p.Name)
	}
	if e.json {
		return writeJSON(e.stdout, newProjectView(p, 0).SMTP)
	}
	fmt.Fprintf(e.stdout, "SMTP of project %q: %s\n", p.Name, describeSMTP(p.SMTP))
	return nil
}

// smtpTest sends one test message through the project's SMTP settings.
func smtpTest(e *env, args []string) error {
	fs := e.newFlags("smtp test", false)
	projName := fs.String("project", "", "project name")
	to := fs.String("to", "", "recipient of the test message")
	if _, err := parse(fs, args, smtpUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(smtpUsage, "--project is required")
	}
	if *to == "" {
		return usagef(smtpUsage, "--to is required")
	}
	addr, err := mail.ParseAddress(*to)
	if err != nil {
		return usagef(smtpUsage, "--to %q is not an email address", *to)
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	err = usecase.TestSMTP(e.ctx, st, usecase.SMTPTest{Project: *projName, To: addr.Address, Options: &notify.Options{Logger: e.warnLogger()}})
	if err != nil {
		return fmt.Errorf("SMTP test: %w", err)
	}
	p, err := st.Project(*projName)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sent a test message to %s via %s\n", addr.Address, describeSMTP(p.SMTP))
	return nil
}

// warnLogger logs warnings and errors of the core packages on stderr.
func (e *env) warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
