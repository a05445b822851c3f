package failure

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// The error values the destinations and the retry loop return (the live
// cases are in core/engine's TestUserFailuresAreClassified).
func TestClassify(t *testing.T) {
	own := func(project.Side) bool { return true }
	notOwn := func(project.Side) bool { return false }
	for _, tc := range []struct {
		name string
		err  error
		own  func(project.Side) bool
		want project.Failure
	}{
		{"throttled after retries", fmt.Errorf("fetch from INBOX: %w after 7 attempts: %w", retry.ErrGaveUp,
			fmt.Errorf("source: %w", &imapconn.ThrottledError{After: time.Second, Err: errors.New("NO throttled")})), own,
			project.Failure{Kind: project.FailureThrottled, Side: project.SideSource}},
		{"graph 429", &graph.APIError{Status: 429, Code: "TooManyRequests"}, own,
			project.Failure{Kind: project.FailureThrottled, Side: project.SideDest}},
		{"graph token refused", &graph.AuthError{Status: 401, Code: "invalid_client"}, own,
			project.Failure{Kind: project.FailureAdminLogin, Side: project.SideDest}},
		{"graph mailbox not found", &graph.APIError{Status: 404, Code: "ErrorInvalidUser"}, own,
			project.Failure{Kind: project.FailureRefused, Side: project.SideDest}},
		{"ews 401 with admin", fmt.Errorf("EWS FindFolder: %w", ews.ErrUnauthorized), notOwn,
			project.Failure{Kind: project.FailureAdminLogin, Side: project.SideDest}},
		{"ews 401 with own password", fmt.Errorf("EWS FindFolder: %w", ews.ErrUnauthorized), own,
			project.Failure{Kind: project.FailureCredentials, Side: project.SideDest}},
		{"ews impersonation denied", &ews.ResponseError{Op: "FindFolder", Code: "ErrorImpersonateUserDenied"}, own,
			project.Failure{Kind: project.FailureAdminLogin, Side: project.SideDest}},
		{"ews busy", &ews.ResponseError{Op: "CreateItem", Code: "ErrorServerBusy"}, own,
			project.Failure{Kind: project.FailureThrottled, Side: project.SideDest}},
		{"exchange online over ews", &ews.ExchangeOnlineError{URL: "https://outlook.office365.com/EWS/Exchange.asmx"}, own,
			project.Failure{Kind: project.FailureSetup, Side: project.SideDest}},
		{"pinned fingerprint changed", &project.SideError{Side: project.SideSource,
			Err: fmt.Errorf("source: TLS handshake: %w", &tlstrust.MismatchError{Want: "aa", Got: "bb"})}, own,
			project.Failure{Kind: project.FailureTLS, Side: project.SideSource}},
		{"a setup error that looks like a refused login", project.AsSetup(fmt.Errorf("source: %w", imapconn.ErrAuth)), own,
			project.Failure{Kind: project.FailureSetup, Side: project.SideSource}},
		{"unknown", errors.New("something odd"), own, project.Failure{Kind: project.FailureOther}},
	} {
		if got := Classify(tc.err, tc.own); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := Classify(nil, own); got != (project.Failure{}) {
		t.Errorf("nil: %+v", got)
	}
}

func TestExplainEveryKind(t *testing.T) {
	titles := map[string]bool{}
	for _, k := range []project.FailureKind{project.FailureCredentials, project.FailureAdminLogin, project.FailureSetup,
		project.FailureTLS, project.FailureConnect, project.FailureThrottled, project.FailureRefused,
		project.FailureTooManyErrors, project.FailureOther} {
		x := Explain(project.Failure{Kind: k, Side: project.SideSource})
		if x.Kind != k || x.Title == "" || x.Text == "" || x.Fix == "" || x.CLIFix == "" || titles[x.Title] {
			t.Errorf("%s: %+v", k, x)
		}
		titles[x.Title] = true
	}
	if x := Explain(project.Failure{}); x != (Explanation{}) {
		t.Errorf("zero: %+v", x)
	}
}

func TestTidy(t *testing.T) {
	for in, want := range map[string]string{
		`source LOGIN "bob": source: LOGIN "bob" on 127.0.0.1:993: IMAP login refused: imap: NO [AUTHENTICATIONFAILED] Authentication failed`: `source: LOGIN "bob" on 127.0.0.1:993: IMAP login refused: imap: NO [AUTHENTICATIONFAILED] Authentication failed`,
		`destination LOGIN "bob": destination: LOGIN "bob" on h:143: IMAP login refused`:                                                      `destination: LOGIN "bob" on h:143: IMAP login refused`,
		// Not doubled: left alone.
		`source: LOGIN "bob" on h:993: IMAP login refused`:                                     `source: LOGIN "bob" on h:993: IMAP login refused`,
		`destination OAuth login as "a@b": EWS FindFolder: the server refused (HTTP 401)`:      `destination OAuth login as "a@b": EWS FindFolder: the server refused (HTTP 401)`,
		`source LOGIN "bob": source: TLS handshake with h:993: IMAP transport security failed`: `source: TLS handshake with h:993: IMAP transport security failed`,
	} {
		if got := Tidy(in); got != want {
			t.Errorf("Tidy(%q) = %q, want %q", in, got, want)
		}
	}
}
