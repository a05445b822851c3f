package memimap

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// CapGmail is the capability with which Gmail announces its IMAP
// extensions (X-GM-MSGID, X-GM-LABELS, X-GM-THRID, X-GM-RAW):
// https://developers.google.com/workspace/gmail/imap/imap-extensions
const CapGmail imap.Cap = "X-GM-EXT-1"

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

// gmail is the Gmail behaviour of a Server (Options.Gmail): the layout of
// the users given one (GmailLayout) and the X-GM-MSGID of every message
// appended or copied, by user, mailbox and UID. A message's X-GM-MSGID is
// drawn from its bytes, so the same message appended to three label
// folders and to All Mail is one Gmail message with three labels, as
// Gmail shows it.
type gmail struct {
	mu     sync.Mutex
	layout map[string][]gmailFolder                  // user → folders
	ids    map[string]map[string]map[imap.UID]uint64 // user → mailbox → UID → X-GM-MSGID
}

type gmailFolder struct {
	name string
	use  []imap.MailboxAttr
}

// msgID is the X-GM-MSGID of a message's bytes: 63 bits of their SHA-256.
func msgID(b []byte) uint64 {
	h := sha256.Sum256(b)
	return binary.BigEndian.Uint64(h[:8]) >> 1
}

func (g *gmail) setID(user, mailbox string, uid imap.UID, id uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ids == nil {
		g.ids = map[string]map[string]map[imap.UID]uint64{}
	}
	boxes := g.ids[user]
	if boxes == nil {
		boxes = map[string]map[imap.UID]uint64{}
		g.ids[user] = boxes
	}
	if boxes[mailbox] == nil {
		boxes[mailbox] = map[imap.UID]uint64{}
	}
	boxes[mailbox][uid] = id
}

func (g *gmail) id(user, mailbox string, uid imap.UID) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ids[user][mailbox][uid]
}

// renamed follows a RENAME (and its children) in the tables.
func (g *gmail) renamed(user, old, new string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	boxes := g.ids[user]
	for name, ids := range boxes {
		if name == old || strings.HasPrefix(name, old+"/") {
			delete(boxes, name)
			boxes[new+strings.TrimPrefix(name, old)] = ids
		}
	}
}

func (g *gmail) deleted(user, mailbox string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.ids[user], mailbox)
}

// labelOf is the X-GM-LABELS name of a mailbox ("" for All Mail and the
// "[Gmail]" parent, which are no labels).
func (g *gmail) labelOf(user, mailbox string) string {
	if strings.EqualFold(mailbox, "INBOX") {
		return `\Inbox`
	}
	g.mu.Lock()
	fs := g.layout[user]
	g.mu.Unlock()
	for _, f := range fs {
		if f.name != mailbox {
			continue
		}
		for _, a := range f.use {
			switch a {
			case imap.MailboxAttrAll, imap.MailboxAttrNoSelect:
				return ""
			case imap.MailboxAttrSent:
				return `\Sent`
			case imap.MailboxAttrDrafts:
				return `\Draft`
			case imap.MailboxAttrFlagged:
				return `\Starred`
			case imap.MailboxAttrImportant:
				return `\Important`
			case imap.MailboxAttrTrash:
				return `\Trash`
			case imap.MailboxAttrJunk:
				return `\Spam`
			}
		}
	}
	return mailbox
}

// labels returns the labels of every message of user by X-GM-MSGID: the
// mailboxes that hold it now (expunged messages no longer count).
func (g *gmail) labels(u *imapmemserver.User, user string) map[uint64][]string {
	g.mu.Lock()
	boxes := map[string]map[imap.UID]uint64{}
	for name, ids := range g.ids[user] {
		boxes[name] = ids
	}
	g.mu.Unlock()
	names := make([]string, 0, len(boxes))
	for n := range boxes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[uint64][]string{}
	for _, name := range names {
		label := g.labelOf(user, name)
		if label == "" {
			continue
		}
		for _, uid := range liveUIDs(u, name) {
			g.mu.Lock()
			id := boxes[name][uid]
			g.mu.Unlock()
			if id != 0 && !contains(out[id], label) {
				out[id] = append(out[id], label)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// liveUIDs are the UIDs in a mailbox now (none if it is gone).
func liveUIDs(u *imapmemserver.User, mailbox string) []imap.UID {
	s := imapmemserver.NewUserSession(u)
	defer s.Close()
	if _, err := s.Select(mailbox, &imap.SelectOptions{ReadOnly: true}); err != nil {
		return nil
	}
	d, err := s.Search(imapserver.NumKindUID, &imap.SearchCriteria{}, &imap.SearchOptions{})
	if err != nil {
		return nil
	}
	set, _ := d.All.(imap.UIDSet)
	uids, _ := set.Nums()
	return uids
}

// GmailLayout creates Gmail's folders in user's mailbox on a server with
// Options.Gmail: the "[Gmail]" parent (\Noselect) and its children with
// their SPECIAL-USE attributes (GmailFolders), plus the given label
// folders. LIST "" "*" then lists them as Gmail does.
func (m *Server) GmailLayout(user string, labels ...string) error {
	if m.gm == nil {
		return fmt.Errorf("memimap: GmailLayout on a server without Options.Gmail")
	}
	u, _, ok := m.Account(user)
	if !ok {
		return fmt.Errorf("memimap: no user %q", user)
	}
	// go-imap's memory server keeps no SPECIAL-USE attributes: List
	// lists these folders with them.
	fs := []gmailFolder{{name: "INBOX"}, {name: "[Gmail]", use: []imap.MailboxAttr{imap.MailboxAttrNoSelect, imap.MailboxAttrHasChildren}}}
	for _, f := range GmailFolders {
		if err := u.Create(f.Name, nil); err != nil {
			return fmt.Errorf("memimap: create %q: %w", f.Name, err)
		}
		fs = append(fs, gmailFolder{name: f.Name, use: []imap.MailboxAttr{f.Use}})
	}
	for _, l := range labels {
		if err := u.Create(l, nil); err != nil {
			return fmt.Errorf("memimap: create %q: %w", l, err)
		}
		if err := u.Subscribe(l); err != nil {
			return fmt.Errorf("memimap: subscribe %q: %w", l, err)
		}
		fs = append(fs, gmailFolder{name: l})
	}
	m.gm.mu.Lock()
	if m.gm.layout == nil {
		m.gm.layout = map[string][]gmailFolder{}
	}
	m.gm.layout[user] = fs
	m.gm.mu.Unlock()
	return nil
}

// Session is a logged-in user's session on a Server: imapmemserver's
// session, plus Gmail's behaviour on a server with Options.Gmail (the
// layout's LIST, X-GM-MSGID kept for appended and copied messages, and
// X-GM-MSGID/X-GM-LABELS in FETCH through the connection's wire filter).
type Session struct {
	*imapmemserver.UserSession
	srv  *Server
	user string
	acct *imapmemserver.User
	wire *wire // nil unless Gmail
}

// NewSession opens user's mailbox for a session on conn (from
// Options.Session, once the user is authenticated). It returns nil when
// there is no such user.
func (m *Server) NewSession(user string, conn *imapserver.Conn) *Session {
	u, _, ok := m.Account(user)
	if !ok {
		return nil
	}
	s := &Session{UserSession: imapmemserver.NewUserSession(u), srv: m, user: user, acct: u}
	if m.gm != nil && conn != nil {
		if tc, ok := conn.NetConn().(*trackedConn); ok && tc.wire != nil {
			s.wire = tc.wire
			tc.wire.setSession(s)
		}
	}
	return s
}

// Select remembers the selected mailbox for X-GM-MSGID.
func (s *Session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	d, err := s.UserSession.Select(name, options)
	if s.wire != nil {
		sel := ""
		if err == nil {
			sel = name
			if strings.EqualFold(name, "INBOX") {
				sel = "INBOX"
			}
		}
		s.wire.setMailbox(sel)
	}
	return d, err
}

// Append keeps the X-GM-MSGID of the appended message.
func (s *Session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if s.srv.gm == nil {
		return s.UserSession.Append(mailbox, r, options)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	d, err := s.UserSession.Append(mailbox, literal{bytes.NewReader(b)}, options)
	if err == nil {
		if strings.EqualFold(mailbox, "INBOX") {
			mailbox = "INBOX"
		}
		s.srv.gm.setID(s.user, mailbox, d.UID, s.srv.gm.newID(s.user, mailbox, b))
	}
	return d, err
}

// newID is the X-GM-MSGID of bytes b appended to mailbox: the same as in
// the other folders (one message, one more label), but a new one when the
// mailbox already holds a message with these bytes (a second message).
func (g *gmail) newID(user, mailbox string, b []byte) uint64 {
	id := msgID(b)
	g.mu.Lock()
	defer g.mu.Unlock()
	taken := map[uint64]bool{}
	for _, x := range g.ids[user][mailbox] {
		taken[x] = true
	}
	for taken[id] {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], id)
		id = msgID(buf[:])
	}
	return id
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

// Copy gives the copies the X-GM-MSGID of their originals (one Gmail
// message with one more label).
func (s *Session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	d, err := s.UserSession.Copy(numSet, dest)
	if err != nil || s.wire == nil {
		return d, err
	}
	from, _ := d.SourceUIDs.Nums()
	to, _ := d.DestUIDs.Nums()
	sel := s.wire.mailboxName()
	for i := range min(len(from), len(to)) {
		if id := s.srv.gm.id(s.user, sel, from[i]); id != 0 {
			s.srv.gm.setID(s.user, dest, to[i], id)
		}
	}
	return d, nil
}

// Rename follows the mailbox in the X-GM-MSGID table.
func (s *Session) Rename(old, new string, options *imap.RenameOptions) error {
	err := s.UserSession.Rename(old, new, options)
	if err == nil && s.srv.gm != nil {
		s.srv.gm.renamed(s.user, old, new)
	}
	return err
}

// Delete forgets the mailbox's X-GM-MSGIDs.
func (s *Session) Delete(name string) error {
	err := s.UserSession.Delete(name)
	if err == nil && s.srv.gm != nil {
		s.srv.gm.deleted(s.user, name)
	}
	return err
}

// List lists a Gmail layout (LIST "" "*") with its SPECIAL-USE
// attributes, subscriptions and statuses; anything else as go-imap does.
func (s *Session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	var fs []gmailFolder
	if s.srv.gm != nil {
		s.srv.gm.mu.Lock()
		fs = s.srv.gm.layout[s.user]
		s.srv.gm.mu.Unlock()
	}
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

// loginSession is the session of a Gmail server without Options.Session:
// LOGIN with the user's password, then a Session.
type loginSession struct {
	*Session // nil until logged in
	m        *Server
	conn     *imapserver.Conn
}

func (l *loginSession) Login(user, password string) error {
	u, _, ok := l.m.Account(user)
	if !ok {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(user, password); err != nil {
		return err
	}
	l.Session = l.m.NewSession(user, l.conn)
	return nil
}

func (l *loginSession) Close() error {
	if l.Session == nil {
		return nil
	}
	return l.Session.Close()
}

// gmLabels formats X-GM-LABELS' list.
func gmLabels(labels []string) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		if strings.HasPrefix(l, `\`) {
			parts[i] = l
			continue
		}
		parts[i] = strconv.Quote(mutf7(l))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

// mutf7 encodes a label in modified UTF-7 (RFC 3501 §5.1.3), as Gmail
// sends labels. (core/imapconn has the same encoder; its tests use this
// package, so it cannot be imported here.)
func mutf7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, x := range u {
			buf[2*i], buf[2*i+1] = byte(x>>8), byte(x)
		}
		b.WriteByte('&')
		b.WriteString(mutf7Enc.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

var mutf7Enc = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)
