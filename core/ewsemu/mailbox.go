package ewsemu

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// MAPI message flags (PR_MESSAGE_FLAGS).
const (
	MsgFlagRead       = 0x1
	MsgFlagUnmodified = 0x2
	MsgFlagSubmit     = 0x4
	MsgFlagUnsent     = 0x8
	MsgFlagHasAttach  = 0x10
)

// Property tags the emulator gives meaning to.
const (
	TagMessageFlags        = 0x0E07
	TagMessageDeliveryTime = 0x0E06
	TagClientSubmitTime    = 0x0039
	TagFlagStatus          = 0x1090
)

type mailbox struct {
	addr  string // as first given
	guid  [16]byte
	root  *folder            // "root" (top of information store)
	named map[string]*folder // distinguished id → folder
}

type folder struct {
	id, changeKey string
	mbx           *mailbox
	parent        *folder
	children      []*folder
	name          string
	class         string
	elem          string // Folder, CalendarFolder, ContactsFolder, TasksFolder
	distinguished string
	items         []*item
}

type item struct {
	id, changeKey string
	folder        *folder
	seq           uint64
	mime          []byte
	subject       string
	messageID     string
	itemClass     string
	flags         int32
	received      time.Time
	sent          time.Time
	hasSent       bool
	created       time.Time
	flagStatus    int32
	hasFlagStatus bool
	ext           map[string]storedProp // by extFieldURI.key(), tagged props above excluded
}

type storedProp struct {
	URI   extFieldURI
	Value string
}

func (it *item) isRead() bool  { return it.flags&MsgFlagRead != 0 }
func (it *item) isDraft() bool { return it.flags&MsgFlagUnsent != 0 }

// distinguished folders created in every mailbox: id, display name, class,
// element, parent id ("" = msgfolderroot, "-" = root).
var wellKnown = []struct{ id, name, class, elem, parent string }{
	{"msgfolderroot", "Top of Information Store", "IPF.Note", "Folder", "-"},
	{"inbox", "Inbox", "IPF.Note", "Folder", ""},
	{"drafts", "Drafts", "IPF.Note", "Folder", ""},
	{"sentitems", "Sent Items", "IPF.Note", "Folder", ""},
	{"deleteditems", "Deleted Items", "IPF.Note", "Folder", ""},
	{"junkemail", "Junk Email", "IPF.Note", "Folder", ""},
	{"outbox", "Outbox", "IPF.Note", "Folder", ""},
	{"calendar", "Calendar", "IPF.Appointment", "CalendarFolder", ""},
	{"contacts", "Contacts", "IPF.Contact", "ContactsFolder", ""},
	{"tasks", "Tasks", "IPF.Task", "TasksFolder", ""},
	{"notes", "Notes", "IPF.StickyNote", "Folder", ""},
	{"journal", "Journal", "IPF.Journal", "Folder", ""},
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newID makes an opaque, Exchange-looking base64 id that embeds the
// mailbox GUID.
func newID(mbx *mailbox, kind byte) string {
	b := make([]byte, 0, 40)
	b = append(b, 0x00, 0x00, 0x2e, kind)
	b = append(b, mbx.guid[:]...)
	b = append(b, randomBytes(20)...)
	return base64.StdEncoding.EncodeToString(b)
}

func newChangeKey() string { return base64.StdEncoding.EncodeToString(randomBytes(20)) }

// wellFormedID reports whether id looks like an id this server issues.
func wellFormedID(id string) bool {
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) == 40
}

// AddMailbox creates a mailbox (with its distinguished folders) unless it exists.
func (s *Server) AddMailbox(addr string) error {
	addr = strings.TrimSpace(addr)
	if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, "<> ") {
		return fmt.Errorf("ews emulator: mailbox %q is not an SMTP address", addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	if _, ok := s.mailboxes[key]; ok {
		return nil
	}
	m := &mailbox{addr: addr, named: map[string]*folder{}}
	copy(m.guid[:], randomBytes(16))
	m.root = &folder{mbx: m, name: "", class: "", elem: "Folder", distinguished: "root"}
	m.root.id, m.root.changeKey = newID(m, 'F'), newChangeKey()
	s.folders[m.root.id] = m.root
	m.named["root"] = m.root
	for _, wk := range wellKnown {
		parent := m.named["msgfolderroot"]
		if wk.parent == "-" {
			parent = m.root
		}
		f := s.addFolderLocked(parent, wk.name, wk.class, wk.elem)
		f.distinguished = wk.id
		m.named[wk.id] = f
	}
	s.mailboxes[key] = m
	return nil
}

func (s *Server) addFolderLocked(parent *folder, name, class, elem string) *folder {
	f := &folder{mbx: parent.mbx, parent: parent, name: name, class: class, elem: elem}
	f.id, f.changeKey = newID(parent.mbx, 'F'), newChangeKey()
	parent.children = append(parent.children, f)
	s.folders[f.id] = f
	return f
}

// AddUser adds (or replaces, by Name) a logon account and creates its mailbox.
func (s *Server) AddUser(u User) error {
	if u.Name == "" {
		return fmt.Errorf("ews emulator: user without a name")
	}
	if u.Mailbox != "" {
		if err := s.AddMailbox(u.Mailbox); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.users {
		if strings.EqualFold(s.users[i].Name, u.Name) {
			s.users[i] = u
			return nil
		}
	}
	s.users = append(s.users, u)
	return nil
}

func (s *Server) mailboxLocked(addr string) *mailbox {
	return s.mailboxes[strings.ToLower(strings.TrimSpace(addr))]
}

func (f *folder) path() []string {
	var p []string
	for x := f; x != nil && x.distinguished != "msgfolderroot" && x.distinguished != "root"; x = x.parent {
		p = append(p, x.name)
	}
	slices.Reverse(p)
	return p
}

func (f *folder) childByName(name string) *folder {
	for _, c := range f.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// folderByPath resolves display names below msgfolderroot; the first
// element may also be a distinguished folder id such as "inbox".
func (m *mailbox) folderByPath(path []string) *folder {
	f := m.named["msgfolderroot"]
	for i, name := range path {
		c := f.childByName(name)
		if c == nil && i == 0 {
			c = m.named[strings.ToLower(name)]
		}
		if c == nil {
			return nil
		}
		f = c
	}
	return f
}

func (f *folder) descendants(out []*folder) []*folder {
	for _, c := range f.children {
		out = append(out, c)
		out = c.descendants(out)
	}
	return out
}

func (f *folder) unread() int {
	n := 0
	for _, it := range f.items {
		if !it.isRead() {
			n++
		}
	}
	return n
}

// StoredItem is an item as the emulator stored it, for tests.
type StoredItem struct {
	ID                string
	FolderPath        []string // display names below msgfolderroot
	MIME              []byte
	Subject           string
	InternetMessageID string
	MessageFlags      int32 // PR_MESSAGE_FLAGS
	IsRead            bool
	IsDraft           bool
	DateTimeReceived  time.Time // PR_MESSAGE_DELIVERY_TIME
	DateTimeSent      time.Time // PR_CLIENT_SUBMIT_TIME (zero if unknown)
	DateTimeCreated   time.Time
	// FlagStatus is PR_FLAG_STATUS: 0 not flagged, 1 complete, 2 flagged.
	FlagStatus int32
	// ExtendedProps holds the other extended properties by key:
	// "tag:xxxx" for tagged ones, "guid:<lower-case set GUID>/name:<Name>"
	// or ".../id:<n>" for named ones (DistinguishedPropertySetId
	// PublicStrings is guid:00020329-0000-0000-c000-000000000046).
	ExtendedProps map[string]string
}

// Items returns the items of a folder, oldest first. folderPath is display
// names below msgfolderroot (case-insensitive); its first element may be a
// distinguished id ("inbox", "sentitems", ...). nil if there is no such folder.
func (s *Server) Items(mailboxAddr string, folderPath []string) []StoredItem {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.mailboxLocked(mailboxAddr)
	if m == nil {
		return nil
	}
	f := m.folderByPath(folderPath)
	if f == nil {
		return nil
	}
	out := make([]StoredItem, 0, len(f.items))
	for _, it := range f.items {
		si := StoredItem{
			ID: it.id, FolderPath: f.path(), MIME: slices.Clone(it.mime),
			Subject: it.subject, InternetMessageID: it.messageID,
			MessageFlags: it.flags, IsRead: it.isRead(), IsDraft: it.isDraft(),
			DateTimeReceived: it.received, DateTimeCreated: it.created,
			FlagStatus: it.flagStatus, ExtendedProps: map[string]string{},
		}
		if it.hasSent {
			si.DateTimeSent = it.sent
		}
		for k, p := range it.ext {
			si.ExtendedProps[k] = p.Value
		}
		out = append(out, si)
	}
	return out
}

// FolderPaths lists every folder below msgfolderroot as display-name paths,
// in tree order (nil for an unknown mailbox).
func (s *Server) FolderPaths(mailboxAddr string) [][]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.mailboxLocked(mailboxAddr)
	if m == nil {
		return nil
	}
	var out [][]string
	for _, f := range m.named["msgfolderroot"].descendants(nil) {
		out = append(out, f.path())
	}
	return out
}

// ItemCount is the number of items in a mailbox, all folders.
func (s *Server) ItemCount(mailboxAddr string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.mailboxLocked(mailboxAddr)
	if m == nil {
		return 0
	}
	n := len(m.root.items)
	for _, f := range m.root.descendants(nil) {
		n += len(f.items)
	}
	return n
}
