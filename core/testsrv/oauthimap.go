package testsrv

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
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
	// Gmail gives the mailboxes Gmail's layout support: SPECIAL-USE, so
	// that [Gmail]/All Mail (\All), Sent Mail, Starred (\Flagged) … are
	// listed with their attributes (see GmailLayout).
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
	overQuota bool                     // Gmail's daily download limit reached
	layout    map[string][]gmailFolder // user → folders of GmailLayout
}

type gmailFolder struct {
	name string
	use  []imap.MailboxAttr
}

// StartOAuthIMAP starts an in-memory IMAP server whose users log in with
// bearer tokens (opt.Verify decides); users maps login → password for
// the helpers that fill mailboxes (Fill logs in with PLAIN when offered).
func StartOAuthIMAP(tb testing.TB, users map[string]string, opt OAuthOptions) *OAuthIMAP {
	tb.Helper()
	o := &OAuthIMAP{auth: opt}
	var caps imap.CapSet
	if opt.Gmail {
		caps = maps.Clone(memimap.Caps)
		caps[imap.CapSpecialUse] = struct{}{}
	}
	m, err := memimap.NewWithOptions(memimap.Options{
		Users:   users,
		Session: func(m *memimap.Server) imapserver.Session { return &authSession{o: o, m: m} },
		Caps:    caps,
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
	*imapmemserver.UserSession // nil until logged in
	o                          *OAuthIMAP
	m                          *memimap.Server
	user                       string
	acct                       *imapmemserver.User
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
	return s.UserSession.Select(name, options)
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
	return s.UserSession.Fetch(w, numSet, options)
}

// Throttled is how many selects were answered as throttled.
func (o *OAuthIMAP) Throttled() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.throttled
}

func (s *authSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
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
	s.UserSession = imapmemserver.NewUserSession(u)
	s.user, s.acct = user, u
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
var GmailFolders = []struct {
	Name string
	Use  imap.MailboxAttr
}{
	{"[Gmail]/All Mail", imap.MailboxAttrAll},
	{"[Gmail]/Drafts", imap.MailboxAttrDrafts},
	{"[Gmail]/Important", imap.MailboxAttrImportant},
	{"[Gmail]/Sent Mail", imap.MailboxAttrSent},
	{"[Gmail]/Spam", imap.MailboxAttrJunk},
	{"[Gmail]/Starred", imap.MailboxAttrFlagged},
	{"[Gmail]/Trash", imap.MailboxAttrTrash},
}

// GmailLayout creates Gmail's folders in user's mailbox: the "[Gmail]"
// parent (\Noselect in Gmail; an empty folder here) and its children
// with their SPECIAL-USE attributes, plus the given label folders.
func (o *OAuthIMAP) GmailLayout(user string, labels ...string) error {
	u, _, ok := o.Account(user)
	if !ok {
		return fmt.Errorf("oauthimap: no user %q", user)
	}
	// go-imap's memory server keeps no SPECIAL-USE attributes: List
	// (below) lists these folders with them.
	fs := []gmailFolder{{name: "INBOX"}, {name: "[Gmail]", use: []imap.MailboxAttr{imap.MailboxAttrNoSelect, imap.MailboxAttrHasChildren}}}
	for _, f := range GmailFolders {
		if err := u.Create(f.Name, nil); err != nil {
			return fmt.Errorf("oauthimap: create %q: %w", f.Name, err)
		}
		fs = append(fs, gmailFolder{name: f.Name, use: []imap.MailboxAttr{f.Use}})
	}
	for _, l := range labels {
		if err := u.Create(l, nil); err != nil {
			return fmt.Errorf("oauthimap: create %q: %w", l, err)
		}
		fs = append(fs, gmailFolder{name: l})
	}
	o.mu.Lock()
	if o.layout == nil {
		o.layout = map[string][]gmailFolder{}
	}
	o.layout[user] = fs
	o.mu.Unlock()
	return nil
}

// List lists a Gmail layout (LIST "" "*") with its SPECIAL-USE
// attributes, subscriptions and statuses; anything else as go-imap does.
func (s *authSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	s.o.mu.Lock()
	fs := s.o.layout[s.user]
	s.o.mu.Unlock()
	if fs == nil || ref != "" || len(patterns) != 1 || patterns[0] != "*" {
		return s.UserSession.List(w, ref, patterns, options)
	}
	for _, f := range fs {
		d := &imap.ListData{Mailbox: f.name, Delim: '/'}
		noselect := false
		for _, a := range f.use {
			noselect = noselect || a == imap.MailboxAttrNoSelect
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrHasChildren || (options != nil && options.ReturnSpecialUse) {
				d.Attrs = append(d.Attrs, a)
			}
		}
		if options != nil && options.ReturnSubscribed {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		if options != nil && options.ReturnStatus != nil && !noselect {
			st, err := s.acct.Status(f.name, options.ReturnStatus)
			if err != nil {
				return err
			}
			d.Status = st
		}
		if err := w.WriteList(d); err != nil {
			return err
		}
	}
	return nil
}
