package ewsemu

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// identity is who a request acts as: the logged-on user, or the user it
// impersonates.
type identity struct {
	name       string
	mailbox    string
	fullAccess []string
}

// reqCtx carries one EWS request through its operation.
type reqCtx struct {
	srv    *Server
	caller *User
	env    *envelope
	op     string
	actor  identity
}

// findUser matches a logon name: "alice", `DOMAIN\alice`, or the
// user's mailbox address (UPN), case-insensitively.
func (s *Server) findUser(login string) *User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := login
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	for i := range s.users {
		u := &s.users[i]
		if strings.EqualFold(u.Name, name) || strings.EqualFold(u.Name, login) ||
			(u.Mailbox != "" && strings.EqualFold(u.Mailbox, name)) {
			c := *u
			return &c
		}
	}
	return nil
}

// authenticate checks the Authorization header (Basic, or NTLM/Negotiate
// carrying raw NTLMSSP) or an NTLM-authenticated connection. On failure it
// has written the 401 (or the NTLM challenge) and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*User, bool) {
	h := r.Header.Get("Authorization")
	scheme, data, _ := strings.Cut(h, " ")
	data = strings.TrimSpace(data)
	switch {
	case h == "":
		if u := s.connUser(r); u != nil {
			return u, true
		}
	case strings.EqualFold(scheme, "Basic") && !s.opts.DisableBasic:
		raw, err := base64.StdEncoding.DecodeString(data)
		if err == nil {
			login, pass, found := strings.Cut(string(raw), ":")
			if u := s.findUser(login); found && u != nil &&
				subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) == 1 {
				return u, true
			}
		}
		s.stats.authFailure()
	case (strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")) && !s.opts.DisableNTLM:
		u, done := s.ntlmStep(w, r, scheme, data)
		if u != nil {
			return u, true
		}
		if done { // a challenge was sent
			return nil, false
		}
		s.stats.authFailure()
	default:
		s.stats.authFailure()
	}
	s.unauthorized(w, r)
	return nil, false
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	if !s.opts.DisableNTLM {
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", "NTLM")
	}
	if !s.opts.DisableBasic {
		w.Header().Add("WWW-Authenticate", `Basic realm="`+hostOnly(r.Host)+`"`)
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("<html><body><h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1></body></html>"))
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

// resolveIdentity applies the ExchangeImpersonation header. Impersonation
// errors are SOAP faults, as on Exchange.
func (s *Server) resolveIdentity(rc *reqCtx) *soapFault {
	c := rc.caller
	rc.actor = identity{name: c.Name, mailbox: c.Mailbox, fullAccess: c.FullAccess}
	imp := rc.env.Header.ExchangeImpersonation
	if imp == nil {
		return nil
	}
	sid := imp.ConnectingSID
	target := firstNonEmpty(sid.PrimarySmtpAddress, sid.SmtpAddress, sid.PrincipalName)
	target = strings.TrimSpace(target)
	if target == "" {
		return &soapFault{Code: "ErrorInvalidExchangeImpersonationHeaderData",
			Message: "The impersonation header must name the user by PrimarySmtpAddress, SmtpAddress or PrincipalName in this emulator."}
	}
	if !allowed(c.Impersonate, target) {
		return &soapFault{Code: "ErrorImpersonateUserDenied",
			Message: "The account does not have permission to impersonate the requested user."}
	}
	s.mu.RLock()
	m := s.mailboxLocked(target)
	var owner *User
	for i := range s.users {
		if strings.EqualFold(s.users[i].Mailbox, target) {
			owner = &s.users[i]
		}
	}
	s.mu.RUnlock()
	if m == nil {
		return &soapFault{Code: "ErrorNonExistentMailbox", Message: "The SMTP address has no mailbox associated with it."}
	}
	rc.actor = identity{name: target, mailbox: m.addr}
	if owner != nil {
		rc.actor.fullAccess = owner.FullAccess
	}
	return nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func allowed(list []string, addr string) bool {
	for _, a := range list {
		if a == "*" || strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

func (id identity) canOpen(addr string) bool {
	return strings.EqualFold(id.mailbox, addr) || allowed(id.fullAccess, addr)
}

// resolveFolderLocked finds the folder a FolderId / DistinguishedFolderId
// names and checks the actor may open its mailbox. s.mu must be held.
func (s *Server) resolveFolderLocked(rc *reqCtx, ref folderRef) (*folder, *respMsg) {
	if ref.ID != "" {
		if !wellFormedID(ref.ID) {
			m := errMsg("ErrorInvalidIdMalformed", "Id is malformed.")
			return nil, &m
		}
		f := s.folders[ref.ID]
		if f == nil {
			m := errMsg("ErrorFolderNotFound", "The specified folder could not be found in the store.")
			return nil, &m
		}
		if !rc.actor.canOpen(f.mbx.addr) {
			m := errMsg("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
			return nil, &m
		}
		return f, nil
	}
	addr := ref.Mailbox
	if addr == "" {
		addr = rc.actor.mailbox
	}
	if addr == "" {
		m := errMsg("ErrorMissingEmailAddress", "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.")
		return nil, &m
	}
	mbx := s.mailboxLocked(addr)
	if mbx == nil {
		m := errMsg("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")
		return nil, &m
	}
	if !rc.actor.canOpen(mbx.addr) {
		m := errMsg("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return nil, &m
	}
	f := mbx.named[strings.ToLower(ref.Distinguished)]
	if f == nil {
		m := errMsg("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		return nil, &m
	}
	return f, nil
}
