package source

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mailferry/mailferry/core/mailbox"
)

const flagFlagged = `\Flagged`

// addGmailIDs gives the listed messages of folder (UIDVALIDITY uv) their
// X-GM-MSGID (Meta.GmailID), and \Flagged to those labelled \Starred
// (Starred is no folder: it becomes the follow-up flag). The IDs are
// read on a raw connection kept for the purpose. A folder whose
// UIDVALIDITY changed in between is refused (ErrUIDValidity: listed
// again by the next pass); a message the server gives no X-GM-MSGID
// keeps UID and content keys.
func (s *IMAPSource) addGmailIDs(ctx context.Context, folder string, uv uint32, metas []mailbox.Meta) error {
	s.gmMu.Lock()
	defer s.gmMu.Unlock()
	if s.gmRaw == nil || s.gmRaw.Broken() {
		rc, err := s.dialRaw(ctx)
		if err != nil {
			return fmt.Errorf("reading X-GM-MSGID: %w", err)
		}
		s.gmRaw = rc
	}
	guv, ids, err := s.gmRaw.GmailMessages(ctx, folder)
	if err != nil {
		return fmt.Errorf("reading X-GM-MSGID: %w", err)
	}
	if guv != uv {
		return fmt.Errorf("folder %q: UIDVALIDITY is %d, listed under %d: %w", folder, guv, uv, ErrUIDValidity)
	}
	for i := range metas {
		g, ok := ids[metas[i].UID]
		if !ok {
			continue
		}
		metas[i].GmailID = g.MsgID
		if slices.ContainsFunc(g.Labels, func(l string) bool { return strings.EqualFold(l, `\Starred`) }) && !metas[i].HasFlag(flagFlagged) {
			metas[i].Flags = append(metas[i].Flags, flagFlagged)
		}
	}
	return nil
}

// Gmail reports whether the server announced Gmail's extensions
// (X-GM-EXT-1), so that messages are known by X-GM-MSGID.
func (s *IMAPSource) Gmail() bool { return s.gmail }
