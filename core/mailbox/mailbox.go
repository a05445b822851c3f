package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Special-use roles of well-known folders (RFC 6154 names without "\").
const (
	RoleInbox   = "Inbox"
	RoleSent    = "Sent"
	RoleDrafts  = "Drafts"
	RoleTrash   = "Trash"
	RoleJunk    = "Junk"
	RoleArchive = "Archive"
)

// Folder is a source folder.
type Folder struct {
	// Name is the full decoded (UTF-8) name as the server lists it, with the
	// server's own delimiter.
	Name string
	// Path is the folder's place in the mailbox: Name without the
	// personal-namespace prefix (RFC 2342), split on Delim. INBOX is
	// ["INBOX"]; a folder of another user's or a shared namespace keeps
	// its whole name.
	Path []string
	// Namespace is "" for the user's own (personal) folders, else the kind
	// of namespace it is in ("other users", "shared"); such folders are
	// not migrated unless the project includes shared folders.
	Namespace string
	Delim     rune
	Role      string // one of the Role constants, or ""
	// RoleFrom says how the source knew the role, e.g. `\Sent on the
	// source` (SPECIAL-USE) or `named "Sent Messages"`.
	RoleFrom    string
	NoSelect    bool
	Subscribed  bool
	UIDValidity uint32
	Messages    uint32
}

// Key identifies a source message across runs within a folder. It is
// "u:<uidvalidity>:<uid>", or "g:<X-GM-MSGID>" for a Gmail message.
type Key string

// SourceKey builds the UID-based key of a message.
func SourceKey(uidValidity, uid uint32) Key {
	return Key(fmt.Sprintf("u:%d:%d", uidValidity, uid))
}

// GmailKey is the key of a Gmail message, "g:<X-GM-MSGID>": the same in
// every folder that shows the message and across UIDVALIDITY changes.
func GmailKey(msgID uint64) Key {
	return Key(fmt.Sprintf("g:%d", msgID))
}

// ContentKey identifies a message by content when UIDs cannot be trusted
// (UIDVALIDITY changed, or local state was lost): sha256 of Message-ID,
// Date, From, Subject and size. It is "c:<hex>".
type ContentKey string

// MakeContentKey computes the content key from the raw header values
// (unfolded, surrounding space trimmed) and the RFC822 size.
func MakeContentKey(messageID, date, from, subject string, size int64) ContentKey {
	h := sha256.New()
	for _, s := range []string{messageID, date, from, subject} {
		h.Write([]byte(NormalizeHeader(s)))
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%d", size)
	return ContentKey("c:" + hex.EncodeToString(h.Sum(nil)[:16]))
}

var lineBreaks = strings.NewReplacer("\r\n", "", "\n", "", "\r", "")

// NormalizeHeader unfolds a header value and trims it, so that the same
// header read through different servers/APIs yields the same string.
func NormalizeHeader(s string) string {
	if t, ok := normalASCII(s); ok {
		return t // the common case, without allocating
	}
	s = lineBreaks.Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// normalASCII returns s without its leading and trailing spaces and tabs
// when what is left is printable ASCII with single spaces between words:
// what NormalizeHeader's general path would return for it.
func normalASCII(s string) (string, bool) {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	t := s[i:j]
	for k := 0; k < len(t); k++ {
		c := t[k]
		if c == ' ' && t[k+1] != ' ' { // t does not end in a space
			continue
		}
		if c <= ' ' || c >= 0x7f {
			return "", false
		}
	}
	return t, true
}

// Meta is what a source lists about a message without fetching its body.
type Meta struct {
	UID          uint32
	Size         int64
	Flags        []string // IMAP flags and keywords, e.g. `\Seen`, `$Label1`
	InternalDate time.Time
	// Header fields for the content key and for error reports.
	MessageID string
	Date      string
	From      string
	Subject   string
	// GmailID is Gmail's X-GM-MSGID (0 on other servers): one message
	// shown in several label folders and in All Mail has one GmailID.
	GmailID uint64
}

// JournalKey is the key the journal knows the message by in its folder
// of UIDVALIDITY uv: GmailKey when the server gave a GmailID (so that a
// UIDVALIDITY change or a label renamed back and forth cannot make it
// new), else SourceKey.
func (m Meta) JournalKey(uv uint32) Key {
	if m.GmailID != 0 {
		return GmailKey(m.GmailID)
	}
	return SourceKey(uv, m.UID)
}

// ContentKey of the message.
func (m Meta) ContentKey() ContentKey {
	return MakeContentKey(m.MessageID, m.Date, m.From, m.Subject, m.Size)
}

// HasFlag reports whether the message carries flag (case-insensitive).
func (m Meta) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// Message is a message ready to be written to a destination.
type Message struct {
	Meta
	Key        Key
	ContentKey ContentKey
	Body       []byte // the exact RFC822 bytes from the source
}

// Filter limits what Source.List returns.
type Filter struct {
	Since, Before time.Time // INTERNALDATE range; zero = unbounded
	MaxSize       int64     // 0 = unbounded
}

// Source reads a mailbox. It never modifies it.
type Source interface {
	Folders(ctx context.Context) ([]Folder, error)
	// List returns the metadata of the messages in folder (UID order) and
	// the folder's current UIDVALIDITY.
	List(ctx context.Context, folder Folder, f Filter) ([]Meta, uint32, error)
	// Fetch streams the full messages for uids to fn, in any order.
	Fetch(ctx context.Context, folder Folder, uids []uint32, fn func(Message) error) error
	Close() error
}

// FolderReleaser is a Source that keeps what List learned about a folder
// (sizes, key headers) for Fetch. Release drops it once the engine is done
// with the folder, so that memory does not grow with the mailbox; a later
// Fetch of the folder still works (it asks the server again).
type FolderReleaser interface {
	Release(folder Folder)
}

// FolderRef is a destination's handle on a folder (an IMAP name, an EWS
// FolderId, a Graph id).
type FolderRef struct {
	ID   string
	Path []string
	// Note says why the folder is not where its path says, e.g. the
	// destination refused the name and a sanitised one was used.
	Note string
}

// Result is the outcome of writing one message.
type Result struct {
	DestID string // destination id if known (APPENDUID, EWS ItemId)
	Err    error  // per-item error; nil = written
}

// Limits tells the engine how to drive a destination.
type Limits struct {
	MaxItemSize int64 // bytes; 0 = none
	BatchSize   int   // messages per Put
	BatchBytes  int64 // max bytes per Put
	Concurrency int   // parallel Puts per user
}

// Or fills the zero (or negative) fields of l from def: a destination's
// configured limits over its defaults.
func (l Limits) Or(def Limits) Limits {
	if l.MaxItemSize <= 0 {
		l.MaxItemSize = def.MaxItemSize
	}
	if l.BatchSize <= 0 {
		l.BatchSize = def.BatchSize
	}
	if l.BatchBytes <= 0 {
		l.BatchBytes = def.BatchBytes
	}
	if l.Concurrency <= 0 {
		l.Concurrency = def.Concurrency
	}
	return l
}

// Destination writes a mailbox.
type Destination interface {
	// EnsureFolder creates (if needed) and returns the folder at path;
	// role is the source folder's special-use role, used to map well-known
	// folders. subscribe asks that the folder be subscribed where that means
	// something.
	EnsureFolder(ctx context.Context, path []string, role string, subscribe bool) (FolderRef, error)
	// Existing returns how many messages with each content key the folder
	// already holds, so that a rerun without local state creates no
	// duplicates.
	Existing(ctx context.Context, f FolderRef) (map[ContentKey]int, error)
	// Put writes msgs into f; results are per message, in order. A non-nil
	// error means the batch did not complete (connection lost, stopped):
	// the results it returns with it still count, so every message not
	// known to be written must carry an error there — a nil Err means
	// "written" to the engine, which journals it as done.
	Put(ctx context.Context, f FolderRef, msgs []Message) ([]Result, error)
	Limits() Limits
	Close() error
}

// ItemError is a per-item failure with a hint for the admin.
type ItemError struct {
	Reason string
	Hint   string
	// Permanent errors are not retried within a pass.
	Permanent bool
}

func (e *ItemError) Error() string { return e.Reason }

// Finder is implemented by sources and destinations that can say what
// they found on the server that decides where folders go (e.g. its
// namespaces), for Verify Credentials and Trial to report.
type Finder interface {
	Findings() []string
}

// RoleResolver is implemented by destinations that can tell, without
// writing anything, which folder a folder with a role (and the given
// path) would go to.
type RoleResolver interface {
	RoleFolder(role string, path []string) string
}
