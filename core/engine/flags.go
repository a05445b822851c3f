package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/store"
)

// flagBatch is the number of flag updates per FlagUpdater call (and per
// journal commit).
const flagBatch = 1000

// flagUpdate is one done message whose source flags changed.
type flagUpdate struct {
	key   mailbox.Key
	flags store.FlagSet
	up    mailbox.FlagUpdate
}

// flagChange compares the flags the source listed for done message m
// (key k) with those the journal recorded when it was migrated (was) and
// adds what follows to p. A done item without recorded flags (journals
// written before flags were kept, by an older MailFerry) is recorded as it
// is now, without an update: its flags at the destination are unknown,
// and changes from then on follow. Changed flags become an update when the
// destination can update flags and the journal has the message's
// destination id; otherwise they are left alone (and compared again by
// the next pass). No I/O.
func (fr *folderRun) flagChange(p *folderPlan, m mailbox.Meta, k mailbox.Key, destID string, was store.FlagSet) {
	now := store.MakeFlagSet(m.Flags)
	switch {
	case !was.Known:
		p.firstFlags = append(p.firstFlags, store.FlagRecord{Key: k, Flags: now})
	case was.Equal(now):
	case fr.r.flagger != nil && destID != "":
		p.flagUps = append(p.flagUps, flagUpdate{key: k, flags: now, up: mailbox.FlagUpdate{DestID: destID, Flags: now.Flags(), Meta: m}})
	}
}

// updateFlags sends the flag updates in batches and records each batch's
// updated flags in the journal right after the destination answers (as
// puts are journaled). Setting flags is idempotent, so a batch whose
// connection broke is simply sent again (with back-off). An update the
// destination cannot apply (its id is stale: the message is gone or the
// folder was recreated) is skipped; one it refuses is logged; both keep
// their old record and are compared again by the next pass.
func (fr *folderRun) updateFlags(ctx context.Context, ups []flagUpdate) error {
	r := fr.r
	var stale, refused int
	for len(ups) > 0 {
		n := min(flagBatch, len(ups))
		batch := ups[:n]
		ups = ups[n:]
		req := make([]mailbox.FlagUpdate, len(batch))
		for i, u := range batch {
			req[i] = u.up
		}
		var results []mailbox.Result
		err := r.retrier().do(ctx, fmt.Sprintf("update flags in %q", fr.ref.Path), func() (e error) {
			results, e = r.flagger.UpdateFlags(ctx, fr.ref, req)
			return e
		}, nil)
		if err != nil {
			if ctx.Err() != nil || Retryable(err) {
				return err
			}
			r.log.Warn("destination refused flag updates", "folder", fr.f.Name, "count", len(batch), "err", err)
			refused += len(batch)
			continue
		}
		if len(results) != len(batch) {
			return fmt.Errorf("destination returned %d results for %d flag updates", len(results), len(batch))
		}
		var recs []store.FlagRecord
		for i, res := range results {
			switch {
			case res.Err == nil:
				recs = append(recs, store.FlagRecord{Key: batch[i].key, Flags: batch[i].flags, Updated: true})
			case errors.Is(res.Err, mailbox.ErrStaleDestID):
				stale++
			default:
				refused++
				r.log.Debug("flag update refused", "folder", fr.f.Name, "uid", batch[i].up.Meta.UID, "err", res.Err)
			}
		}
		if len(recs) > 0 {
			if err := r.commit(store.Batch{Folder: fr.f.Name, UIDValidity: fr.uv, Flags: recs}); err != nil {
				return err
			}
			r.mu.Lock()
			r.updated += int64(len(recs))
			r.mu.Unlock()
			r.progress(false, "")
		}
	}
	if stale+refused > 0 {
		r.log.Warn("some flag changes could not be applied at the destination", "folder", fr.f.Name,
			"gone", stale, "refused", refused)
	}
	return nil
}
