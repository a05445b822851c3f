package imapconn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/project"
)

// SASL mechanisms for OAuth 2 bearer tokens.
const (
	// MechXOAUTH2 is Google's and Microsoft's mechanism (not standardised;
	// https://developers.google.com/gmail/imap/xoauth2-protocol).
	MechXOAUTH2 = "XOAUTH2"
	// MechOAUTHBEARER is RFC 7628's mechanism.
	MechOAUTHBEARER = "OAUTHBEARER"
)

// TokenSource gives a valid OAuth 2 access token for one mailbox. It is
// asked at every login, so a caching, refreshing source (core/oauth)
// keeps long migrations logged in after the first token expires.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource of one pre-obtained access token.
type StaticToken string

// AccessToken returns the token.
func (t StaticToken) AccessToken(context.Context) (string, error) {
	if t == "" {
		return "", errors.New("the access token is empty")
	}
	return string(t), nil
}

// ErrToken marks a login that failed before reaching the IMAP server
// because no access token was issued (see the wrapped error for the token
// endpoint's reason). It is a setup error (errors.Is(err,
// project.ErrSetup)), not a wrong password.
var ErrToken = project.AsSetup(errors.New("no OAuth access token"))

// OAuthError is a bearer-token login the server refused. Status, Schemes
// and Scope come from the JSON the server sends (base64) in its
// continuation request before the final NO; Microsoft 365 sends none and
// only answers NO.
type OAuthError struct {
	Mechanism string
	User      string
	Status    string // "401", "400", "invalid_token", "insufficient_scope", ...
	Schemes   string
	Scope     string // the scope the server wants
	// Provider says how the token was obtained (for hints): "gworkspace",
	// "m365-imap", "token" or "".
	Provider string
	// Server is the server's final answer (tagged NO/BAD text), if any.
	Server string
}

func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s login of %q refused", e.Mechanism, e.User)
	if e.Status != "" {
		fmt.Fprintf(&b, " (status %s", e.Status)
		if e.Scope != "" {
			fmt.Fprintf(&b, ", scope %s", e.Scope)
		}
		b.WriteString(")")
	}
	if e.Server != "" {
		fmt.Fprintf(&b, ": server said %q", e.Server)
	}
	if h := e.Hint(); h != "" {
		b.WriteString(": " + h)
	}
	return b.String()
}

// Reason classifies the refusal: "expired" (token expired, revoked or not
// valid for this user), "scope" (token lacks the needed scope), "consent"
// (the app is not allowed to open this mailbox: admin consent, domain-wide
// delegation or mailbox permission missing), or "" when unknown.
func (e *OAuthError) Reason() string {
	switch strings.ToLower(e.Status) {
	case "401", "invalid_token":
		return "expired"
	case "403", "insufficient_scope":
		return "scope"
	case "400", "invalid_request":
		if e.Scope != "" {
			return "scope"
		}
	}
	if e.Status == "" && e.Provider == "m365-imap" {
		return "consent"
	}
	return ""
}

// Is makes a refusal for a missing scope or consent a setup error
// (project.ErrSetup): the admin fixes it in a console.
func (e *OAuthError) Is(target error) bool {
	r := e.Reason()
	return target == project.ErrSetup && (r == "scope" || r == "consent")
}

// Hint names the usual fix for the refusal.
func (e *OAuthError) Hint() string {
	switch e.Reason() {
	case "expired":
		switch e.Provider {
		case "token":
			return "the access token has expired or was revoked, or belongs to another user; get a new token and set it again (--token-env)"
		case "gworkspace":
			return "the token was refused for this user; check that the user exists in the Google Workspace domain and that IMAP is on for them (Admin console > Apps > Google Workspace > Gmail > End User Access)"
		}
		return "the access token has expired, was revoked, or belongs to another user"
	case "scope":
		want := e.Scope
		if want == "" {
			want = "https://mail.google.com/"
		}
		if e.Provider == "gworkspace" {
			return "the token lacks the scope " + want + "; in the Google Admin console > Security > API controls > Domain-wide delegation, give the service account's client ID exactly the scope https://mail.google.com/"
		}
		return "the token lacks the scope " + want
	case "consent":
		return "the app's token was refused: give the app the IMAP.AccessAsApp application permission with admin consent, register its service principal in Exchange Online (New-ServicePrincipal) and give it FullAccess to the mailbox (Add-MailboxPermission)"
	}
	return ""
}

// oauthClient is a sasl.Client for XOAUTH2 and OAUTHBEARER.
type oauthClient struct {
	mech, user, token, host string
	port                    int
	failed                  *OAuthError // the error JSON, once received
}

func (c *oauthClient) Start() (string, []byte, error) {
	return c.mech, c.initial(), nil
}

// initial is the initial client response:
//
//	XOAUTH2:     "user=" user ^A "auth=Bearer " token ^A ^A
//	OAUTHBEARER: "n,a=" user "," ^A "host=" host ^A "port=" port ^A "auth=Bearer " token ^A ^A
func (c *oauthClient) initial() []byte {
	if c.mech == MechXOAUTH2 {
		return []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01")
	}
	var b strings.Builder
	b.WriteString("n,a=" + gs2Name(c.user) + ",")
	if c.host != "" {
		b.WriteString("\x01host=" + c.host)
	}
	if c.port != 0 {
		b.WriteString("\x01port=" + strconv.Itoa(c.port))
	}
	b.WriteString("\x01auth=Bearer " + c.token + "\x01\x01")
	return []byte(b.String())
}

// gs2Name escapes "," and "=" in a GS2 authzid (RFC 5801).
func gs2Name(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// Next answers a challenge. Both mechanisms send a challenge only to
// report an error (JSON); the client must then answer so that the server
// ends the exchange with NO: XOAUTH2 with an empty response, OAUTHBEARER
// with a single 0x01 (RFC 7628 §3.2.3).
func (c *oauthClient) Next(challenge []byte) ([]byte, error) {
	if len(challenge) == 0 && c.failed == nil {
		// "+ =": a server without SASL-IR asking for the initial response.
		return c.initial(), nil
	}
	if c.failed != nil {
		return nil, fmt.Errorf("%s: unexpected second challenge", c.mech)
	}
	var j struct {
		Status  string `json:"status"`
		Schemes string `json:"schemes"`
		Scope   string `json:"scope"`
	}
	c.failed = &OAuthError{Mechanism: c.mech, User: c.user}
	if err := json.Unmarshal(challenge, &j); err == nil {
		c.failed.Status, c.failed.Schemes, c.failed.Scope = j.Status, j.Schemes, j.Scope
	}
	if c.mech == MechOAUTHBEARER {
		return []byte{0x01}, nil
	}
	return []byte{}, nil
}

// oauthMech picks the bearer-token mechanism from the server's
// capabilities: OAUTHBEARER (the standard) when offered, else XOAUTH2.
func oauthMech(caps imap.CapSet, addr string) (string, error) {
	switch {
	case caps.Has(imap.Cap("AUTH=" + MechOAUTHBEARER)):
		return MechOAUTHBEARER, nil
	case caps.Has(imap.Cap("AUTH=" + MechXOAUTH2)):
		return MechXOAUTH2, nil
	case caps.Has(imap.CapLoginDisabled) && !caps.Has(imap.Cap("AUTH=PLAIN")):
		return "", fmt.Errorf("%s offers no OAuth login on a plain-text connection (use ssl or starttls): %w", addr, ErrSecurity)
	}
	return "", fmt.Errorf("%s offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER: this server does not take OAuth tokens; use a password (type imap): %w", addr, ErrAuth)
}

// oauthRefused builds the error of a refused bearer-token login.
func (c *oauthClient) refused(addr, provider string, server *imap.Error) error {
	e := c.failed
	if e == nil {
		e = &OAuthError{Mechanism: c.mech, User: c.user}
	}
	e.Provider = provider
	if server != nil {
		e.Server = server.Text
	}
	return fmt.Errorf("%s: %w: %w", addr, ErrAuth, e)
}

func (c *Conn) newOAuthClient(mech string, m loginMethod, token string) *oauthClient {
	return newOAuthClient(mech, m, token, c.addr)
}

func newOAuthClient(mech string, m loginMethod, token, addr string) *oauthClient {
	host, port, _ := strings.Cut(addr, ":")
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		host, port = strings.Trim(addr[:i], "[]"), addr[i+1:]
	}
	p, _ := strconv.Atoi(port)
	return &oauthClient{mech: mech, user: m.name, token: token, host: host, port: p}
}

// loginOAuth runs AUTHENTICATE OAUTHBEARER or XOAUTH2 on a RawConn: the
// initial response inline with SASL-IR (else after the first "+"), an
// error challenge answered as the mechanism asks, then the tagged answer.
func (c *RawConn) loginOAuth(m loginMethod, token string) error {
	mech, err := oauthMech(c.caps, c.addr)
	if err != nil {
		return err
	}
	oc := newOAuthClient(mech, m, token, c.addr)
	_, ir, _ := oc.Start()
	tag := c.Tag()
	if c.caps.Has(imap.CapSASLIR) {
		c.WriteString(tag + " AUTHENTICATE " + mech + " " + base64.StdEncoding.EncodeToString(ir) + "\r\n")
		ir = nil
	} else {
		c.WriteString(tag + " AUTHENTICATE " + mech + "\r\n")
	}
	var r *Response
	for err == nil {
		if err = c.Flush(); err != nil {
			break
		}
		if r, err = c.ReadResponse(); err != nil {
			break
		}
		if r.Tag != "+" {
			if r.Tag != tag {
				r, err = c.waitTagged(tag)
			}
			break
		}
		if ir != nil {
			c.WriteString(base64.StdEncoding.EncodeToString(ir) + "\r\n")
			ir = nil
			continue
		}
		ch, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Text))
		if derr != nil {
			ch = nil
		}
		resp, _ := oc.Next(ch)
		// An empty response is an empty line, as Google documents.
		c.WriteString(base64.StdEncoding.EncodeToString(resp) + "\r\n")
	}
	if err != nil {
		return connErr(fmt.Sprintf("%s on %s", m, c.addr), err)
	}
	c.noteCaps(r)
	if r.Type == "OK" {
		return nil
	}
	ie, ok := r.Err().(*imap.Error)
	if !ok {
		return connErr(fmt.Sprintf("%s on %s", m, c.addr), fmt.Errorf("unexpected answer %q", r.Line))
	}
	if ie.Code == imap.ResponseCodeUnavailable {
		return connErr(fmt.Sprintf("%s on %s: server unavailable", m, c.addr), ie)
	}
	return oc.refused(c.addr, m.provider, ie)
}
