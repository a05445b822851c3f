package memimap

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/corpus"
)

// GmailFill says where FillGmail put a corpus's messages: copies by folder
// (one message with three labels counts once in each of three folders,
// and once in All Mail; corpus messages with the same bytes are one Gmail
// message), and how many messages are only in All Mail (archived).
type GmailFill struct {
	Messages int            // corpus messages
	Copies   map[string]int // folder name → messages appended to it
	Archived int            // messages in All Mail and no label folder
}

// Gmail's folders, as GmailLayout creates them.
const (
	gmailAll       = "[Gmail]/All Mail"
	gmailSent      = "[Gmail]/Sent Mail"
	gmailDrafts    = "[Gmail]/Drafts"
	gmailTrash     = "[Gmail]/Trash"
	gmailSpam      = "[Gmail]/Spam"
	gmailStarred   = "[Gmail]/Starred"
	gmailImportant = "[Gmail]/Important"
)

// gmailPlace is where Gmail shows a corpus message of folder path: its
// label folders (none for archived mail) and whether All Mail shows it
// (not for Trash and Spam). i numbers the message, so that some carry
// more labels: every 4th labelled message is in the Inbox too, every 7th
// Inbox message also has the first label, every 3rd Inbox message is
// Important; starred (\Flagged) messages are in Starred.
func gmailPlace(path []string, flags []imap.Flag, i int, labels []string) (folders []string, all bool) {
	top := path[0]
	switch {
	case strings.EqualFold(top, "INBOX") && len(path) == 1:
		folders = []string{"INBOX"}
		if i%7 == 0 && len(labels) > 0 {
			folders = append(folders, labels[0])
		}
		if i%3 == 0 {
			folders = append(folders, gmailImportant)
		}
	case top == "Sent":
		folders = []string{gmailSent}
	case top == "Drafts":
		folders = []string{gmailDrafts}
	case top == "Trash":
		return []string{gmailTrash}, false
	case top == "Junk":
		return []string{gmailSpam}, false
	case top == "Archive":
		// archived: All Mail only
	default:
		folders = []string{gmailLabel(path)}
		if i%4 == 0 {
			folders = append(folders, "INBOX")
		}
	}
	if slices.Contains(flags, imap.FlagFlagged) {
		folders = append(folders, gmailStarred)
	}
	return folders, true
}

// gmailLabel is the label of a corpus folder (INBOX's children lose the
// INBOX: Gmail has no labels under the Inbox).
func gmailLabel(path []string) string {
	if strings.EqualFold(path[0], "INBOX") && len(path) > 1 {
		path = path[1:]
	}
	return strings.Join(path, "/")
}

// GmailLabels are the label folders FillGmail uses for spec's corpus
// (give them to GmailLayout first).
func GmailLabels(spec corpus.Spec) []string {
	var out []string
	for _, f := range corpus.Generate(spec).Folders {
		switch f.Path[0] {
		case "Sent", "Drafts", "Trash", "Junk", "Archive":
			continue
		}
		if strings.EqualFold(f.Path[0], "INBOX") && len(f.Path) == 1 {
			continue
		}
		if l := gmailLabel(f.Path); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// FillGmail appends the corpus of spec to user's Gmail-style mailbox
// (GmailLayout(user, GmailLabels(spec)...) first) the way Gmail shows
// it: each message in its label folders and in All Mail, the same bytes
// and flags in each (so one X-GM-MSGID), archived mail in All Mail only,
// Trash and Spam outside All Mail.
func (m *Server) FillGmail(ctx context.Context, user string, spec corpus.Spec) (GmailFill, error) {
	st := GmailFill{Copies: map[string]int{}}
	m.mu.Lock()
	pass, ok := m.users[user]
	m.mu.Unlock()
	if !ok || m.gm == nil {
		return st, fmt.Errorf("memimap: FillGmail: no user %q on a Gmail server", user)
	}
	c, err := imapclient.DialInsecure(m.Addr(), &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}})
	if err != nil {
		return st, fmt.Errorf("memimap: FillGmail %s: %w", user, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, pass).Wait(); err != nil {
		return st, fmt.Errorf("memimap: FillGmail %s: login: %w", user, err)
	}
	gen := corpus.Generate(spec)
	labels := GmailLabels(spec)
	// Gmail keeps one message for the same bytes (as for the same
	// Message-ID): All Mail shows it once, with every label.
	inAll, labelled := map[[32]byte]bool{}, map[[32]byte]bool{}
	for i, msg := range gen.Messages {
		h := sha256.Sum256(msg.Raw)
		folders, all := gmailPlace(msg.Folder, msg.Flags, i, labels)
		if all && !inAll[h] {
			folders = append(folders, gmailAll)
			inAll[h] = true
		}
		for _, f := range folders {
			if err := appendMsg(c, f, msg); err != nil {
				return st, fmt.Errorf("memimap: FillGmail %s: append to %q: %w", user, f, err)
			}
			st.Copies[f]++
			if f != gmailAll && f != gmailStarred && f != gmailImportant {
				labelled[h] = true
			}
		}
		st.Messages++
	}
	for h := range inAll {
		if !labelled[h] {
			st.Archived++
		}
	}
	if err := c.Logout().Wait(); err != nil && ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, nil
}

func appendMsg(c *imapclient.Client, folder string, msg corpus.Message) error {
	cmd := c.Append(folder, int64(len(msg.Raw)), &imap.AppendOptions{Flags: msg.Flags, Time: msg.InternalDate})
	if _, err := cmd.Write(msg.Raw); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}
