package failure

import (
	"strings"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Explanation is what the faces show about a failure.
type Explanation struct {
	Kind project.FailureKind `json:"kind"`
	Side project.Side        `json:"side,omitempty"`
	// Title is a few words for a column ("Wrong password").
	Title string `json:"title"`
	// Text says in plain language what happened.
	Text string `json:"explanation"`
	// Fix says what to do, in the window's words.
	Fix string `json:"fix"`
	// CLIFix says what to do with the mailferry command.
	CLIFix string `json:"cli_fix"`
}

// sideName is "source" or "destination" (or "mail" when unknown) for
// sentences.
func sideName(s project.Side) string {
	switch s {
	case project.SideSource:
		return "source"
	case project.SideDest:
		return "destination"
	}
	return "mail"
}

// Explain describes f. A zero Failure gives a zero Explanation.
func Explain(f project.Failure) Explanation {
	if f.Kind == "" {
		return Explanation{}
	}
	side := sideName(f.Side)
	cliSide := "source"
	if f.Side == project.SideDest {
		cliSide = "dest"
	}
	x := Explanation{Kind: f.Kind, Side: f.Side}
	switch f.Kind {
	case project.FailureCredentials:
		x.Title = "Wrong password"
		x.Text = "The " + side + " server refused this user's login: the password (or login name) MailFerry has for them is wrong, has changed, or the account is locked."
		x.Fix = "Enter the right password for the user (Users tab), or ask the user for it with Request Passwords, then run Verify Credentials again."
		x.CLIFix = "Import the right password (mailferry users import --project P FILE.csv), or ask the user: mailferry credreq serve --project P --send --users EMAIL; then mailferry migrate --project P --pass verify --users EMAIL."
		if f.Side == project.SideDest {
			x.Fix = "Enter the right destination password for the user (Users tab: re-import the user with it), then run Verify Credentials again."
			x.CLIFix = "Import the right destination password (mailferry users import --project P FILE.csv); then mailferry migrate --project P --pass verify --users EMAIL."
		}
	case project.FailureAdminLogin:
		x.Title = "Admin login refused"
		x.Text = "The " + side + " server refused the login MailFerry uses for every user there (the admin account, its impersonation or delegation rights, or the app's secret or certificate)."
		x.Fix = "Check the " + side + "'s admin login, password and rights in the Endpoints tab (Test connection shows which step fails), then run Verify Credentials again."
		x.CLIFix = "Check them with mailferry endpoint test --project P --side " + cliSide + " and fix them with mailferry endpoint set."
	case project.FailureSetup:
		x.Title = "Setup error"
		x.Text = "Something in the project's settings keeps MailFerry from logging in (a missing password, login name or endpoint, a login template that does not fit). Nothing was sent to the server; it is not a wrong password."
		x.Fix = "Fix the setting named in the details (Endpoints or Users tab), then run Verify Credentials again."
		x.CLIFix = "Fix the setting named in the details (mailferry endpoint set, mailferry users import), then mailferry endpoint test --project P --side " + cliSide + "."
	case project.FailureTLS:
		x.Title = "Certificate problem"
		x.Text = "The " + side + " server's certificate or encryption was not accepted: it is self-signed or expired, its name does not match, it changed since you trusted it, or the server does not offer the security chosen. MailFerry never falls back to an unencrypted login."
		x.Fix = "Run Test connection for the " + side + " in the Endpoints tab: check the certificate it shows and trust it if it is the right one, or choose the right security (SSL/TLS or STARTTLS) and port."
		x.CLIFix = "Run mailferry endpoint test --project P --side " + cliSide + "; trust the right certificate with mailferry endpoint set --trust-fingerprint SHA256, or set the right --security and --port."
	case project.FailureConnect:
		x.Title = "Cannot connect"
		x.Text = "MailFerry could not reach the " + side + " server, or the connection kept failing after every retry (wrong host or port, a firewall, the server down or overloaded)."
		x.Fix = "Check the " + side + "'s host and port in the Endpoints tab and run Test connection; when the server is back, start the pass again (it goes on where it stopped)."
		x.CLIFix = "Run mailferry endpoint test --project P --side " + cliSide + "; then run the pass again (it goes on where it stopped)."
	case project.FailureThrottled:
		x.Title = "Throttled"
		x.Text = "The " + side + " server kept answering that it is busy or that MailFerry sends too much, after every retry."
		x.Fix = "Start the pass again later (it goes on where it stopped), or lower Max concurrent users in the options."
		x.CLIFix = "Run the pass again later (it goes on where it stopped), or lower max_concurrent_users."
	case project.FailureRefused:
		x.Title = "Refused by the " + side
		x.Text = "The " + side + " server refused something this user's migration needs (the mailbox does not exist, is full, or the login may not open it)."
		x.Fix = "Read the server's answer in the details, fix it on the " + side + " server (mailbox, quota, permissions), then start the pass again."
		x.CLIFix = "Read the server's answer in the details, fix it on the " + side + " server, then run the pass again."
	case project.FailureTooManyErrors:
		x.Title = "Too many failed items"
		x.Text = "More items failed than the project's Max errors per user allows, so the user was stopped."
		x.Fix = "Open the user's failed items to see why, fix the cause (for example the item size limit), then Retry Errors; or raise Max errors per user in the options."
		x.CLIFix = "See why with mailferry status --project P --users EMAIL --errors, fix the cause, then mailferry migrate --project P --pass retry --users EMAIL."
	default:
		x.Title = "Failed"
		x.Text = "The user's pass ended with an error MailFerry does not recognise."
		x.Fix = "Read the details below; if the cause is temporary, start the pass again (it goes on where it stopped)."
		x.CLIFix = "Read the details; if the cause is temporary, run the pass again (it goes on where it stopped)."
	}
	return x
}

// Report is a failed pass explained: Explain's fields and the raw error
// line (the server's own words) as Detail.
type Report struct {
	Explanation
	Detail string `json:"detail"`
}

// OfPass explains how a user's pass record ended, when the user failed
// as a whole (nil otherwise), with the record's error line as detail.
func OfPass(rec *store.PassRecord) *Report {
	f := FromPass(rec)
	if f == nil {
		return nil
	}
	return &Report{Explanation: Explain(*f), Detail: Tidy(rec.Error)}
}

// FromPass is the failure of a pass record that failed the user (nil
// otherwise). A record from before failures were classified counts as
// FailureOther.
func FromPass(rec *store.PassRecord) *project.Failure {
	if rec == nil || rec.Status != project.StatusFailed {
		return nil
	}
	if rec.Failure != nil && rec.Failure.Kind != "" {
		f := *rec.Failure
		return &f
	}
	return &project.Failure{Kind: project.FailureOther}
}

// Tidy drops the doubled side (and login) that journals written before
// core/connect named them once still hold, as connect does now: `source
// LOGIN "x": source: LOGIN "x" on host: …` becomes `source: LOGIN "x" on
// host: …`.
func Tidy(msg string) string {
	for _, side := range []string{"source", "destination"} {
		head, rest, ok := strings.Cut(msg, ": ")
		if !ok || !strings.HasPrefix(head, side+" ") || !strings.HasPrefix(rest, side+": ") {
			continue
		}
		return rest
	}
	return msg
}
