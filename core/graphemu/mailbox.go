package graphemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Well-known folder names and their display names.
var wellKnown = []struct{ name, display string }{
	{"inbox", "Inbox"},
	{"sentitems", "Sent Items"},
	{"drafts", "Drafts"},
	{"deleteditems", "Deleted Items"},
	{"junkemail", "Junk Email"},
	{"archive", "Archive"},
	{"outbox", "Outbox"},
	{"conversationhistory", "Conversation History"},
}

type mailbox struct {
	id, upn  string
	root     *folder
	folders  map[string]*folder // by id
	wk       map[string]*folder // by well-known name
	messages map[string]*Message
	order    []string // message ids in creation order
}

type folder struct {
	id, name, wellKnown string
	parent              *folder
	children            []*folder
	// props are the folder's single-value extended properties by
	// canonical id (Graph documents them on mailFolder as on message).
	props map[string]string
}

func (f *folder) path() string {
	var parts []string
	for x := f; x != nil && x.parent != nil; x = x.parent {
		parts = append([]string{x.name}, parts...)
	}
	return strings.Join(parts, "/")
}

// Recipient is an email address with a display name.
type Recipient struct{ Name, Address string }

// Header is an internet message header.
type Header struct{ Name, Value string }

// Attachment is a file attachment.
type Attachment struct {
	Name, ContentType, ContentID string
	Inline                       bool
	Content                      []byte
}

// Message is a stored message as the emulator holds it.
type Message struct {
	ID, FolderID string
	FolderPath   string // display names from msgfolderroot, "/"-separated
	Subject      string
	BodyType     string // "text" or "html"
	BodyContent  string
	From, Sender *Recipient
	To, Cc, Bcc  []Recipient
	ReplyTo      []Recipient

	InternetMessageID string
	Headers           []Header // internetMessageHeaders given at creation (x- only)
	IsRead, IsDraft   bool
	Received, Sent    time.Time
	Created           time.Time
	FlagStatus        string // notFlagged, flagged, complete
	Importance        string
	Categories        []string
	Attachments       []Attachment
	// ExtendedProperties by canonical id (e.g. "Integer 0xe07",
	// "String {guid} Name X").
	ExtendedProperties map[string]string
	// MIME is the raw message when it was created from MIME.
	MIME []byte
	// Via says how it was created: "json", "mime" (draft POST) or "importMime".
	Via  string
	Size int64
}

func (m *Message) clone() Message {
	c := *m
	c.To = slices.Clone(m.To)
	c.Cc = slices.Clone(m.Cc)
	c.Bcc = slices.Clone(m.Bcc)
	c.ReplyTo = slices.Clone(m.ReplyTo)
	c.Headers = slices.Clone(m.Headers)
	c.Categories = slices.Clone(m.Categories)
	c.Attachments = slices.Clone(m.Attachments)
	c.ExtendedProperties = map[string]string{}
	for k, v := range m.ExtendedProperties {
		c.ExtendedProperties[k] = v
	}
	return c
}

// Prop returns an extended property by any spelling of its id.
func (m *Message) Prop(id string) (string, bool) {
	c, _, err := canonPropID(id)
	if err != nil {
		return "", false
	}
	v, ok := m.ExtendedProperties[c]
	return v, ok
}

// AddMailbox creates a mailbox with the well-known folders.
func (s *Server) AddMailbox(upn string) error {
	if !strings.Contains(upn, "@") {
		return fmt.Errorf("graph emulator: %q is not a user principal name", upn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(upn)
	if s.mailboxes[key] != nil {
		return nil
	}
	s.seq++
	m := &mailbox{
		id:       fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq),
		upn:      upn,
		folders:  map[string]*folder{},
		wk:       map[string]*folder{},
		messages: map[string]*Message{},
	}
	m.root = &folder{id: s.folderIDLocked(), name: "Top of Information Store", wellKnown: "msgfolderroot"}
	m.folders[m.root.id] = m.root
	m.wk["msgfolderroot"] = m.root
	for _, w := range wellKnown {
		f := &folder{id: s.folderIDLocked(), name: w.display, wellKnown: w.name, parent: m.root}
		m.root.children = append(m.root.children, f)
		m.folders[f.id] = f
		m.wk[w.name] = f
	}
	s.mailboxes[key] = m
	s.mailboxes[m.id] = m
	return nil
}

func (s *Server) folderIDLocked() string {
	s.seq++
	return "AAMkAGF" + strconv.FormatUint(s.seq, 10) + "AAA="
}

func (s *Server) mailboxLocked(upn string) (*mailbox, error) {
	m := s.mailboxes[strings.ToLower(upn)]
	if m == nil {
		return nil, fmt.Errorf("graph emulator: no mailbox %q", upn)
	}
	return m, nil
}

// resolvePath finds a folder by display-name path from msgfolderroot
// (case-insensitive), "" being the root.
func (m *mailbox) resolvePath(p string) *folder {
	f := m.root
	if p == "" {
		return f
	}
	for _, part := range strings.Split(p, "/") {
		var next *folder
		for _, c := range f.children {
			if strings.EqualFold(c.name, part) {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		f = next
	}
	return f
}

// Items returns copies of the messages stored in folderPath of mailbox
// upn, in creation order. folderPath is the display-name path from
// msgfolderroot ("Inbox", "Inbox/Projects"), case-insensitive.
func (s *Server) Items(upn, folderPath string) ([]Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, err := s.mailboxLocked(upn)
	if err != nil {
		return nil, err
	}
	f := m.resolvePath(folderPath)
	if f == nil {
		return nil, fmt.Errorf("graph emulator: no folder %q in %s", folderPath, upn)
	}
	var out []Message
	for _, id := range m.order {
		if msg := m.messages[id]; msg != nil && msg.FolderID == f.id {
			c := msg.clone()
			c.FolderPath = f.path()
			out = append(out, c)
		}
	}
	return out, nil
}

// Folders lists the folder paths of a mailbox (display names from
// msgfolderroot), depth first.
func (s *Server) Folders(upn string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, err := s.mailboxLocked(upn)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(f *folder)
	walk = func(f *folder) {
		for _, c := range f.children {
			out = append(out, c.path())
			walk(c)
		}
	}
	walk(m.root)
	return out, nil
}

// CreateFolder makes a folder path (for test setup), returning its id.
func (s *Server) CreateFolder(upn, folderPath string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.mailboxLocked(upn)
	if err != nil {
		return "", err
	}
	f := m.root
	for _, part := range strings.Split(folderPath, "/") {
		var next *folder
		for _, c := range f.children {
			if strings.EqualFold(c.name, part) {
				next = c
			}
		}
		if next == nil {
			next = &folder{id: s.folderIDLocked(), name: part, parent: f}
			f.children = append(f.children, next)
			m.folders[next.id] = next
		}
		f = next
	}
	return f.id, nil
}
