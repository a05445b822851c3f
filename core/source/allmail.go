package source

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/size"
)

// allMail is the Gmail layout of a source with a SPECIAL-USE \All folder
// ([Gmail]/All Mail): every message is in it, and also in one folder per
// label. MailFerry migrates a message once per label folder (where
// Outlook users expect it) and from \All only the messages in no other
// folder (archived mail), into "Archive"; Trash and Spam are skipped
// unless the endpoint asks for them (IncludeTrashSpam); \Flagged
// (Starred) and \Important are not folders (a starred message carries \Flagged in its
// folders); the "[Gmail]" parent disappears from the paths.
type allMail struct {
	name   string           // the \All folder's name ("" = none)
	others []mailbox.Folder // the folders whose messages \All must not repeat
	// ids are the X-GM-MSGIDs of the others' messages, keys the content
	// keys of those without one (nil until \All is listed).
	ids  map[uint64]bool
	keys map[mailbox.ContentKey]bool
}

// applyAllMail rewrites folders for a source with a \All folder (see
// allMail) and remembers what List needs. attrs are the LIST attributes
// by folder name.
func (s *IMAPSource) applyAllMail(folders []mailbox.Folder, attrs map[string][]imap.MailboxAttr) []mailbox.Folder {
	var all *mailbox.Folder
	for i := range folders {
		if hasAttr(attrs[folders[i].Name], imap.MailboxAttrAll) && !folders[i].NoSelect {
			all = &folders[i]
			break
		}
	}
	if all == nil {
		return folders
	}
	var parent []string // e.g. ["[Gmail]"]
	if len(all.Path) > 1 {
		parent = all.Path[:len(all.Path)-1]
	}
	hasArchive := false
	for _, f := range folders {
		hasArchive = hasArchive || (f.Role == mailbox.RoleArchive && f.Name != all.Name)
	}
	am := allMail{name: all.Name}
	out := folders[:0:0]
	for _, f := range folders {
		a := attrs[f.Name]
		switch {
		case hasAttr(a, imap.MailboxAttrFlagged) || hasAttr(a, imap.MailboxAttrImportant):
			s.log.Info("source folder not migrated: a Gmail view, not a folder", "folder", f.Name)
			continue
		case parent != nil && f.NoSelect && slices.Equal(f.Path, parent):
			continue // the "[Gmail]" container
		case !s.trashSpam && (hasAttr(a, imap.MailboxAttrTrash) || hasAttr(a, imap.MailboxAttrJunk)):
			s.log.Info("source folder not migrated: Gmail's Trash and Spam are skipped unless asked (include trash and spam)", "folder", f.Name)
			continue
		}
		if parent != nil && len(f.Path) > len(parent) && slices.Equal(f.Path[:len(parent)], parent) {
			f.Path = slices.Clone(f.Path[len(parent):])
		}
		if f.Name == all.Name {
			f.Path = []string{"Archive"}
			f.Role, f.RoleFrom = mailbox.RoleArchive, `\All on the source (only the messages in no other folder)`
			if hasArchive {
				f.Role = ""
			}
		} else if !f.NoSelect {
			am.others = append(am.others, f)
		}
		out = append(out, f)
	}
	// \All last: its List needs the other folders' messages.
	slices.SortStableFunc(out, func(a, b mailbox.Folder) int {
		switch {
		case a.Name == all.Name && b.Name != all.Name:
			return 1
		case b.Name == all.Name && a.Name != all.Name:
			return -1
		}
		return 0
	})
	s.mu.Lock()
	s.all = am
	s.mu.Unlock()
	return out
}

// dropLabelled removes from the \All folder's listing the messages that
// are in another folder: by X-GM-MSGID on a server with X-GM-EXT-1 (one
// message, whatever its headers), else by content key (Gmail shows one
// message with the same headers and size in every label).
func (s *IMAPSource) dropLabelled(ctx context.Context, folder mailbox.Folder, metas []mailbox.Meta) ([]mailbox.Meta, error) {
	s.mu.Lock()
	am := s.all
	s.mu.Unlock()
	if am.name == "" || folder.Name != am.name {
		return metas, nil
	}
	if am.keys == nil {
		ids, keys := map[uint64]bool{}, map[mailbox.ContentKey]bool{}
		for _, f := range am.others {
			ms, _, err := s.list(ctx, f)
			if err != nil {
				return nil, fmt.Errorf("listing %q to leave its messages out of %q: %w", f.Name, am.name, err)
			}
			for _, m := range ms {
				if m.GmailID != 0 {
					ids[m.GmailID] = true
				} else {
					keys[m.ContentKey()] = true
				}
			}
		}
		am.ids, am.keys = ids, keys
		s.mu.Lock()
		s.all.ids, s.all.keys = ids, keys
		s.mu.Unlock()
	}
	out := metas[:0:0]
	for _, m := range metas {
		labelled := am.keys[m.ContentKey()]
		if m.GmailID != 0 {
			labelled = am.ids[m.GmailID] || (len(am.keys) > 0 && labelled)
		}
		if !labelled {
			out = append(out, m)
		}
	}
	return out, nil
}

// gmailBudget is the download budget of a Gmail source in bytes (0 for
// other servers): Endpoint.DailyLimitMB, else DefaultGmailDailyMB.
func gmailBudget(ep project.Endpoint) int64 {
	gmail := ep.Type == project.TypeGWorkspace || ep.Type == project.TypeGmail || strings.EqualFold(ep.Host, project.GmailIMAPHost)
	if !gmail {
		return 0
	}
	mb := ep.DailyLimitMB
	if mb <= 0 {
		mb = project.DefaultGmailDailyMB
	}
	return int64(mb) << 20
}

// MeterDaily starts the budget from what earlier passes downloaded today
// (mailbox.DailyMetered): a second pass on the same day goes on counting.
func (s *IMAPSource) MeterDaily(m mailbox.DailyMeter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meter = m
	s.spent = m.Spent
}

// spend takes a chunk's bytes from the budget, or says that the mailbox
// pauses here (imapconn.ErrBandwidthLimit: the next pass goes on).
func (s *IMAPSource) spend(chunk []uint32, sizes map[uint32]int64) error {
	if s.budget <= 0 {
		return nil
	}
	var n int64
	for _, u := range chunk {
		n += sizes[u]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spent > 0 && s.spent+n > s.budget {
		return fmt.Errorf("%w: MailFerry paused this mailbox after %s downloaded today to stay under Gmail's limit of about 2,500 MB of download a day; %s and it goes on where it stopped",
			imapconn.ErrBandwidthLimit, size.Human(s.spent), resumeAt(s.meter.Resume))
	}
	s.spent += n
	if s.meter.Record != nil {
		if err := s.meter.Record(s.spent); err != nil {
			s.log.Error("recording the day's download", "err", err)
		}
	}
	return nil
}

// resumeAt tells when to run the next pass.
func resumeAt(t time.Time) string {
	if t.IsZero() {
		return "run the pass again tomorrow"
	}
	return "resume at " + t.UTC().Format("2006-01-02 15:04 MST") + " (run the pass again then)"
}
