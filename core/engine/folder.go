package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/store"
)

// folderRun is one source folder within a user's pass.
type folderRun struct {
	r      *userRun
	f      mailbox.Folder
	ref    mailbox.FolderRef
	uv     uint32
	metas  map[uint32]mailbox.Meta
	failed map[mailbox.Key]store.FailedItem // from the journal

	// Destination reconciliation for retried Puts: existing0 is what the
	// destination held when planned, sent what this pass has made done
	// since (by content key).
	mu        sync.Mutex
	existing0 map[mailbox.ContentKey]int
	sent      map[mailbox.ContentKey]int
}

func (r *userRun) filter() mailbox.Filter {
	f := mailbox.Filter{Since: r.p.Options.DateFrom, Before: r.p.Options.DateTo}
	if r.pass == project.PassPrestage && (f.Before.IsZero() || r.po.PrestageBefore.Before(f.Before)) {
		f.Before = r.po.PrestageBefore
	}
	return f
}

// folderPass migrates one folder: list (metadata only), decide what to
// send, dedup against the destination, then fetch → put → journal.
func (r *userRun) folderPass(ctx context.Context, row mappingRow, ref mailbox.FolderRef, ensureErr error) error {
	f := row.Folder
	t0 := time.Now()
	metas, uv, err := r.src.List(ctx, f, r.filter())
	tList := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil || Retryable(err) || errors.Is(err, imapconn.ErrBandwidthLimit) {
			return err // Gmail's daily limit: stop the user with the reason
		}
		// The folder cannot be read (deleted meanwhile, server refusal):
		// report it, go on with the others.
		r.log.Warn("folder cannot be listed", "folder", f.Name, "err", err)
		r.progress(true, fmt.Sprintf("folder %q skipped: %v", f.Name, err))
		return nil
	}
	st, err := r.e.j.Folder(r.p.Name, r.id, f.Name)
	if err != nil {
		return err
	}
	fr := &folderRun{r: r, f: f, ref: ref, uv: uv, metas: make(map[uint32]mailbox.Meta, len(metas)), failed: st.Failed,
		sent: map[mailbox.ContentKey]int{}}
	uvChanged := st.UIDValidity != 0 && st.UIDValidity != uv
	var relabel []store.DoneItem
	// Content keys of what is at the destination thanks to earlier passes.
	var journalCK map[mailbox.ContentKey]int
	if uvChanged {
		r.log.Warn("UIDVALIDITY changed; falling back to content keys", "folder", f.Name, "was", st.UIDValidity, "now", uv)
		journalCK = make(map[mailbox.ContentKey]int, len(st.ContentDone))
		for k, n := range st.ContentDone {
			journalCK[k] = n
		}
	}
	var cands, done []mailbox.Meta
	for _, m := range metas {
		fr.metas[m.UID] = m
		if _, ok := st.Done[mailbox.SourceKey(uv, m.UID)]; ok {
			done = append(done, m)
			continue
		}
		cands = append(cands, m)
	}
	// Flags changed on the source since the done messages were migrated.
	firstFlags, flagUps := fr.flagChanges(st, done)
	// Content keys of the done messages, needed only when something is
	// left to decide (a no-op pass computes no hash at all).
	doneCK := map[mailbox.ContentKey]int{}
	if len(cands) > 0 {
		for _, m := range done {
			doneCK[m.ContentKey()]++
		}
	}
	if uvChanged {
		for ck, n := range doneCK {
			journalCK[ck] -= n
		}
		kept := cands[:0]
		for _, m := range cands {
			ck := m.ContentKey()
			if journalCK[ck] > 0 {
				journalCK[ck]--
				doneCK[ck]++
				relabel = append(relabel, store.DoneItem{Key: mailbox.SourceKey(uv, m.UID), ContentKey: ck, Size: m.Size, Via: store.ViaJournal,
					Flags: store.MakeFlagSet(m.Flags)})
				continue
			}
			kept = append(kept, m)
		}
		cands = kept
	}
	// Pass selection.
	switch r.pass {
	case project.PassRetry:
		kept := cands[:0]
		for _, m := range cands {
			if _, ok := st.Failed[mailbox.SourceKey(uv, m.UID)]; ok {
				kept = append(kept, m)
			}
		}
		cands = kept
	case project.PassTrial:
		kept := cands[:0]
		r.mu.Lock()
		for _, m := range cands {
			if len(kept) >= TrialItemsPerFolder {
				break
			}
			if r.trialBytes+m.Size > TrialMaxBytes {
				continue
			}
			r.trialBytes += m.Size
			kept = append(kept, m)
		}
		r.mu.Unlock()
		cands = kept
	}

	r.mu.Lock()
	r.itemsTotal += int64(len(metas)) - int64(f.Messages)
	r.itemsDone += int64(len(metas) - len(cands))
	r.mu.Unlock()

	var failures []store.FailedItem
	var dedup []store.DoneItem
	if len(cands) > 0 && ensureErr != nil {
		for _, m := range cands {
			failures = append(failures, fr.failure(m, "the destination folder could not be created: "+ensureErr.Error(),
				"check the folder mapping and the destination's folder name rules, then Retry Errors"))
		}
		cands = nil
	}
	if len(cands) > 0 {
		existing, err := r.dst.Existing(ctx, ref)
		if err != nil {
			return err
		}
		fr.existing0 = existing
		avail := make(map[mailbox.ContentKey]int, len(existing))
		for k, n := range existing {
			avail[k] = n - doneCK[k]
		}
		kept := cands[:0]
		for _, m := range cands {
			ck := m.ContentKey()
			if avail[ck] > 0 {
				avail[ck]--
				dedup = append(dedup, store.DoneItem{Key: mailbox.SourceKey(uv, m.UID), ContentKey: ck, Size: m.Size, Via: store.ViaDest,
					Flags: store.MakeFlagSet(m.Flags)})
				continue
			}
			if r.maxItem > 0 && m.Size > r.maxItem {
				failures = append(failures, fr.failure(m,
					fmt.Sprintf("message is %s, over the %s limit set by %s", size.Human(m.Size), size.Human(r.maxItem), r.maxItemSource),
					"raise the limit (MaxItemSizeMB) if the destination accepts larger items, then Retry Errors"))
				continue
			}
			kept = append(kept, m)
		}
		cands = kept
	}
	if len(relabel)+len(dedup)+len(failures)+len(firstFlags) > 0 || st.UIDValidity != uv {
		b := store.Batch{Folder: f.Name, UIDValidity: uv, Done: append(relabel, dedup...), Failed: failures, Flags: firstFlags}
		if err := r.commit(b); err != nil {
			return err
		}
		r.mu.Lock()
		r.skipped += int64(len(dedup))
		r.itemsDone += int64(len(failures) + len(dedup))
		r.mu.Unlock()
		r.countFailed(len(failures))
	}
	if len(flagUps) > 0 && ensureErr == nil {
		if err := fr.updateFlags(ctx, flagUps); err != nil {
			return err
		}
	}
	tPlan := time.Since(t0)
	if len(cands) > 0 {
		defer func() {
			r.log.Debug("folder fetched", "folder", f.Name, "listed", len(metas), "to send", len(cands),
				"list", tList, "plan", tPlan-tList, "fetch", time.Since(t0)-tPlan)
		}()
		if err := fr.transfer(ctx, cands); err != nil {
			if errors.Is(err, source.ErrUIDValidity) {
				r.log.Warn("UIDVALIDITY changed during the pass; the folder will be redone by the next pass", "folder", f.Name)
				r.progress(true, fmt.Sprintf("folder %q changed on the source during the pass; run the pass again", f.Name))
				return nil
			}
			return err
		}
	}
	r.progress(false, "")
	return nil
}

func (fr *folderRun) failure(m mailbox.Meta, reason, hint string) store.FailedItem {
	return store.FailedItem{Key: mailbox.SourceKey(fr.uv, m.UID), ContentKey: m.ContentKey(), Folder: fr.f.Name, UID: m.UID,
		Subject: m.Subject, Date: m.Date, Size: m.Size, Reason: reason, Hint: hint,
		Pass: fr.r.pass, PassSeq: fr.r.seq, Time: fr.r.e.opts.Now()}
}

// transfer streams the candidates' bodies from the source, cuts them into
// batches by the destination's Limits and writes them one after the other
// (the next batch is fetched while one is written), journaling each batch
// as soon as its Put returns. Memory: the batch being written, one queued,
// one being filled, plus the source's read-ahead.
func (fr *folderRun) transfer(ctx context.Context, cands []mailbox.Meta) error {
	r := fr.r
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	uids := make([]uint32, len(cands))
	for i, m := range cands {
		uids[i] = m.UID
	}
	batches := make(chan []mailbox.Message, 1)
	putDone := make(chan error, 1)
	go func() {
		var first error
		for b := range batches {
			if first == nil && ctx.Err() == nil {
				if err := contain(r.log, "writing to "+fr.f.Name, func() error { return fr.putBatch(ctx, b) }); err != nil {
					first = err
					cancel(err)
				}
			} // else drain: redone by the next pass
			r.mem.releaseMsgs(b)
		}
		putDone <- first
	}()
	var cur []mailbox.Message
	var curBytes int64
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		select {
		case batches <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur, curBytes = nil, 0
		return nil
	}
	err := r.src.Fetch(ctx, fr.f, uids, func(m mailbox.Message) error {
		if m.Key == "" {
			m.Key = mailbox.SourceKey(fr.uv, m.UID)
		}
		if m.ContentKey == "" {
			m.ContentKey = m.Meta.ContentKey()
		}
		if len(cur) > 0 && (len(cur) >= r.limits.BatchSize || curBytes+int64(len(m.Body)) > r.limits.BatchBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		if !r.mem.tryAcquire(int64(len(m.Body))) {
			// Let what this folder holds move on before waiting, so that
			// the folders' unfinished batches cannot starve each other.
			if err := flush(); err != nil {
				return err
			}
			if err := r.mem.acquire(ctx, int64(len(m.Body))); err != nil {
				return err
			}
		}
		cur = append(cur, m)
		curBytes += int64(len(m.Body))
		return nil
	})
	if err == nil {
		err = flush()
	}
	r.mem.releaseMsgs(cur) // not flushed (error): never sent
	close(batches)
	if perr := <-putDone; perr != nil {
		return perr
	}
	if err != nil && ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
	}
	return err
}

// putBatch writes one batch and journals the outcome of every message.
// When the connection breaks, the messages the destination confirmed are
// kept as done; before retrying the rest, the destination is asked
// (Existing) whether a message in flight was stored after all, so a retry
// never duplicates.
func (fr *folderRun) putBatch(ctx context.Context, batch []mailbox.Message) error {
	r := fr.r
	var done []store.DoneItem
	var failures []store.FailedItem
	localDone := map[mailbox.ContentKey]int{}
	markDone := func(m mailbox.Message, destID string) {
		done = append(done, store.DoneItem{Key: m.Key, ContentKey: m.ContentKey, DestID: destID, Size: m.Size,
			Flags: store.MakeFlagSet(m.Flags)})
		localDone[m.ContentKey]++
	}
	var results []mailbox.Result
	pending := batch
	// An attempt that got messages written (confirmed, or found written
	// when reconciling) starts the count of attempts over: a destination
	// connection that drops every few MB keeps going while it moves mail.
	doneBefore := 0
	progressed := func() bool {
		p := len(done) > doneBefore
		doneBefore = len(done)
		return p
	}
	err := r.retrier().doProgress(ctx, fmt.Sprintf("write to %q", fr.ref.Path), func() (e error) {
		if len(pending) == 0 {
			results = nil
			return nil
		}
		results, e = r.dst.Put(ctx, fr.ref, pending)
		if e != nil && len(results) == len(pending) {
			// Keep what the destination confirmed; per-item refusals are
			// final; the rest (in flight or unsent) is retried.
			kept := pending[:0:0]
			for i, m := range pending {
				switch ie := results[i].Err; {
				case ie == nil:
					markDone(m, results[i].DestID)
				case Retryable(ie) || errors.Is(ie, context.Canceled):
					kept = append(kept, m)
				default:
					reason, hint := explain(ie)
					failures = append(failures, fr.failure(m.Meta, reason, hint))
				}
			}
			pending, results = kept, nil
		}
		return e
	}, func() error {
		// What did the failed attempt store that it could not confirm?
		now, err := r.dst.Existing(ctx, fr.ref)
		if err != nil {
			return err
		}
		extra := map[mailbox.ContentKey]int{}
		fr.mu.Lock()
		for _, m := range pending {
			ck := m.ContentKey
			if _, ok := extra[ck]; !ok {
				extra[ck] = now[ck] - fr.existing0[ck] - fr.sent[ck] - localDone[ck]
			}
		}
		fr.mu.Unlock()
		kept := pending[:0:0]
		for _, m := range pending {
			if extra[m.ContentKey] > 0 {
				extra[m.ContentKey]--
				markDone(m, "")
				continue
			}
			kept = append(kept, m)
		}
		r.log.Debug("reconciled a broken batch", "folder", fr.f.Name, "unconfirmed", len(pending), "found written", len(pending)-len(kept))
		pending = kept
		return nil
	}, progressed)
	switch {
	case err == nil:
		if len(results) != len(pending) {
			return fmt.Errorf("destination returned %d results for %d messages", len(results), len(pending))
		}
		for i, m := range pending {
			if res := results[i]; res.Err == nil {
				markDone(m, res.DestID)
			} else {
				reason, hint := explain(res.Err)
				failures = append(failures, fr.failure(m.Meta, reason, hint))
			}
		}
	case ctx.Err() != nil || Retryable(err):
		// Stopped, or the connection stays down: journal what is known
		// below; the rest is redone by the next pass.
	default:
		// The server refused the batch as a whole: every message fails.
		reason, hint := explain(err)
		for _, m := range pending {
			failures = append(failures, fr.failure(m.Meta, reason, hint))
		}
		err = nil
	}
	if len(done)+len(failures) > 0 {
		var bytes int64
		for _, d := range done {
			bytes += d.Size
		}
		if cerr := r.commit(store.Batch{Folder: fr.f.Name, UIDValidity: fr.uv, Done: done, Failed: failures}); cerr != nil {
			return cerr
		}
		fr.mu.Lock()
		for _, d := range done {
			fr.sent[d.ContentKey]++
		}
		fr.mu.Unlock()
		r.mu.Lock()
		r.migrated += int64(len(done))
		r.bytes += bytes
		r.itemsDone += int64(len(done) + len(failures))
		r.mu.Unlock()
		r.countFailed(len(failures))
		r.progress(false, "")
	}
	return err
}

// explain turns a per-item error into a reason and a hint.
func explain(err error) (reason, hint string) {
	var ie *mailbox.ItemError
	if errors.As(err, &ie) {
		hint = ie.Hint
		reason = ie.Reason
	} else {
		reason = err.Error()
	}
	if hint == "" {
		hint = "see the reason; fix the cause on the destination, then Retry Errors"
	}
	return reason, hint
}
