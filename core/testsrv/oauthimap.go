package testsrv

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
	"github.com/mailferry/mailferry/core/memimap"
)

// OAuthRefusal is how the server refuses a bearer token: with JSON set,
// the error JSON {"status","schemes","scope"} (base64) in a continuation
// request, as Gmail does, then NO after the client's answer; without it,
// a plain NO, as Microsoft 365 does.
type OAuthRefusal struct {
	JSON    bool
	Status  string
	Schemes string
	Scope   string
	Text    string // the tagged NO's text ("" = "Invalid credentials (Failure)")
}

// OAuthOptions make an OAuthIMAP log users in with bearer tokens.
type OAuthOptions struct {
	// Mechanisms offered (AUTH=...): any of XOAUTH2, OAUTHBEARER, PLAIN.
	Mechanisms []string
	// Verify accepts (nil) or refuses a user's token.
	Verify func(user, token string) *OAuthRefusal
	// NoLogin refuses the LOGIN command (basic authentication off).
	NoLogin bool
	// ThrottleSelects makes the first n SELECT/EXAMINE commands answer
	// as Microsoft 365 does when it throttles: NO "Request is throttled.
	// Suggested Backoff Time: Backoff milliseconds".
	ThrottleSelects int
	Backoff         time.Duration
	// Gmail makes the server behave like Gmail (memimap Options.Gmail):
	// X-GM-EXT-1 and SPECIAL-USE, [Gmail]/All Mail (\All), Sent Mail,
	// Starred (\Flagged) … listed with their attributes (GmailLayout), and
	// X-GM-MSGID/X-GM-LABELS in FETCH.
	Gmail bool
}

// SASLExchange records one AUTHENTICATE as the server decoded it, for
// byte-for-byte checks of what a client sent.
type SASLExchange struct {
	Mech      string
	Initial   []byte   // the initial client response
	Responses [][]byte // the answers to the server's challenges
	User      string   // the user it named ("" if malformed)
	Token     string
	Host      string // OAUTHBEARER host=, port= ("" if absent)
	Port      string
	OK        bool
}

// OAuthIMAP is an in-memory IMAP server (core/memimap) whose users log in
// with bearer tokens, recording every AUTHENTICATE exchange.
type OAuthIMAP struct {
	*memimap.Server
	auth OAuthOptions

	mu        sync.Mutex
	sasl      []SASLExchange
	throttled int
	overQuota bool // Gmail's daily download limit reached
}

// StartOAuthIMAP starts an in-memory IMAP server whose users log in with
// bearer tokens (opt.Verify decides); users maps login → password for
// the helpers that fill mailboxes (Fill logs in with PLAIN when offered).
func StartOAuthIMAP(tb testing.TB, users map[string]string, opt OAuthOptions) *OAuthIMAP {
	tb.Helper()
	o := &OAuthIMAP{auth: opt}
	m, err := memimap.NewWithOptions(memimap.Options{
		Users: users,
		Session: func(m *memimap.Server, c *imapserver.Conn) imapserver.Session {
			return &authSession{o: o, m: m, conn: c}
		},
		Gmail: opt.Gmail,
	})
	if err != nil {
		tb.Fatalf("testsrv: %v", err)
	}
	o.Server = m
	tb.Cleanup(func() { m.Close() })
	return o
}

// SASL returns the AUTHENTICATE exchanges so far.
func (o *OAuthIMAP) SASL() []SASLExchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]SASLExchange(nil), o.sasl...)
}

func (o *OAuthIMAP) record(x SASLExchange) {
	o.mu.Lock()
	o.sasl = append(o.sasl, x)
	o.mu.Unlock()
}

// authSession is imapmemserver's session with the authentication of
// OAuthOptions.
type authSession struct {
	*memimap.Session // nil until logged in
	o                *OAuthIMAP
	m                *memimap.Server
	conn             *imapserver.Conn
}

// Select answers the first OAuthOptions.ThrottleSelects selects as a
// throttled Microsoft 365 does.
func (s *authSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.o.mu.Lock()
	throttle, backoff := s.o.throttled < s.o.auth.ThrottleSelects, s.o.auth.Backoff
	if throttle {
		s.o.throttled++
	}
	s.o.mu.Unlock()
	if throttle {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo,
			Text: fmt.Sprintf("Request is throttled. Suggested Backoff Time: %d milliseconds", backoff.Milliseconds())}
	}
	return s.Session.Select(name, options)
}

// ThrottleSelects makes the next n SELECT/EXAMINE commands answer as
// throttled, suggesting backoff.
func (o *OAuthIMAP) ThrottleSelects(n int, backoff time.Duration) {
	o.mu.Lock()
	o.auth.ThrottleSelects, o.auth.Backoff = o.throttled+n, backoff
	o.mu.Unlock()
}

// OverQuota makes every FETCH of message contents answer as Gmail does
// once the account's daily download allowance is used up (on), or serve
// again (off).
func (o *OAuthIMAP) OverQuota(on bool) {
	o.mu.Lock()
	o.overQuota = on
	o.mu.Unlock()
}

// Fetch refuses to serve message contents while OverQuota is on.
func (s *authSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	s.o.mu.Lock()
	over := s.o.overQuota
	s.o.mu.Unlock()
	if over && (len(options.BodySection) > 0 || len(options.BinarySection) > 0) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert,
			Text: "Account exceeded command or bandwidth limits. (Failure)"}
	}
	return s.Session.Fetch(w, numSet, options)
}

// Throttled is how many selects were answered as throttled.
func (o *OAuthIMAP) Throttled() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.throttled
}

func (s *authSession) Close() error {
	if s.Session == nil {
		return nil
	}
	return s.Session.Close()
}

func (s *authSession) Login(user, password string) error {
	if s.o.auth.NoLogin {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "LOGIN failed."}
	}
	return s.loginAs(user, &password)
}

// loginAs opens user's mailbox, checking password when not nil.
func (s *authSession) loginAs(user string, password *string) error {
	u, pw, ok := s.m.Account(user)
	if !ok {
		return imapserver.ErrAuthFailed
	}
	if password != nil {
		if err := u.Login(user, *password); err != nil {
			return err
		}
	} else if err := u.Login(user, pw); err != nil {
		return err
	}
	s.Session = s.m.NewSession(user, s.conn)
	return nil
}

func (s *authSession) AuthenticateMechanisms() []string { return s.o.auth.Mechanisms }

func (s *authSession) Authenticate(mech string) (sasl.Server, error) {
	ok := false
	for _, m := range s.o.auth.Mechanisms {
		ok = ok || strings.EqualFold(m, mech)
	}
	if !ok {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported authentication mechanism."}
	}
	if mech == "PLAIN" {
		return sasl.NewPlainServer(func(identity, user, password string) error {
			if identity != "" && identity != user {
				return imapserver.ErrAuthFailed
			}
			return s.loginAs(user, &password)
		}), nil
	}
	return &bearerServer{s: s, x: SASLExchange{Mech: mech}}, nil
}

var (
	xoauth2RE     = regexp.MustCompile("^user=([^\x01]+)\x01auth=Bearer ([^\x01 ]+)\x01\x01$")
	oauthbearerRE = regexp.MustCompile("^n,a=([^,]*),(?:\x01host=([^\x01]*))?(?:\x01port=([0-9]+))?\x01auth=Bearer ([^\x01 ]+)\x01\x01$")
)

// bearerServer is the server side of XOAUTH2 and OAUTHBEARER, strict
// about every byte: a malformed initial response is BAD, and after an
// error challenge the client must answer exactly as the mechanism says
// (XOAUTH2: empty; OAUTHBEARER: 0x01).
type bearerServer struct {
	s       *authSession
	x       SASLExchange
	refused *OAuthRefusal
	step    int
}

func (b *bearerServer) Next(resp []byte) ([]byte, bool, error) {
	b.step++
	switch {
	case b.step == 1 && resp == nil:
		return nil, false, nil // no SASL-IR: ask for the initial response ("+ ")
	case b.refused == nil && b.x.Initial == nil:
		b.x.Initial = append([]byte{}, resp...)
		return b.initial(resp)
	}
	b.x.Responses = append(b.x.Responses, append([]byte{}, resp...))
	want := []byte{}
	if b.x.Mech == "OAUTHBEARER" {
		want = []byte{0x01}
	}
	b.s.o.record(b.x)
	if string(resp) != string(want) {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeBad, Text: fmt.Sprintf("%s: the answer to an error challenge must be %q, got %q", b.x.Mech, want, resp)}
	}
	return nil, true, b.no()
}

func (b *bearerServer) initial(resp []byte) ([]byte, bool, error) {
	switch b.x.Mech {
	case "XOAUTH2":
		if g := xoauth2RE.FindSubmatch(resp); g != nil {
			b.x.User, b.x.Token = string(g[1]), string(g[2])
		}
	case "OAUTHBEARER":
		if g := oauthbearerRE.FindSubmatch(resp); g != nil {
			user := strings.NewReplacer("=2C", ",", "=3D", "=").Replace(string(g[1]))
			b.x.User, b.x.Host, b.x.Port, b.x.Token = user, string(g[2]), string(g[3]), string(g[4])
		}
	}
	if b.x.User == "" {
		b.s.o.record(b.x)
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid SASL argument."}
	}
	r := b.s.o.auth.Verify(b.x.User, b.x.Token)
	if r == nil {
		if err := b.s.loginAs(b.x.User, nil); err != nil {
			b.s.o.record(b.x)
			return nil, true, err
		}
		b.x.OK = true
		b.s.o.record(b.x)
		return nil, true, nil
	}
	b.refused = r
	if !r.JSON {
		b.s.o.record(b.x)
		return nil, true, b.no()
	}
	j, _ := json.Marshal(map[string]string{"status": r.Status, "schemes": r.Schemes, "scope": r.Scope})
	return j, false, nil
}

func (b *bearerServer) no() error {
	text := b.refused.Text
	if text == "" {
		text = "Invalid credentials (Failure)"
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: text}
}

// GmailFolders are the folders of a Gmail mailbox besides INBOX, with
// their SPECIAL-USE attributes.
var GmailFolders = memimap.GmailFolders

// GmailLayout creates Gmail's folders in user's mailbox (a server started
// with OAuthOptions.Gmail): see memimap.Server.GmailLayout.
func (o *OAuthIMAP) GmailLayout(user string, labels ...string) error {
	return o.Server.GmailLayout(user, labels...)
}
