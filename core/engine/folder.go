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
// send (plan, then decide against the destination), journal what needs
// no transfer, propagate flag changes, then fetch → put → journal.
func (r *userRun) folderPass(ctx context.Context, row mappingRow, ref mailbox.FolderRef, ensureErr error) error {
	f := row.Folder
	t0 := time.Now()
	metas, uv, err := r.src.List(ctx, f, r.filter())
	tList := time.Since(t0)
	if rel, ok := r.src.(mailbox.FolderReleaser); ok {
		defer rel.Release(f) // what the source kept of the listing for Fetch
	}
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
	st, err := r.e.j.FolderHead(r.p.Name, r.id, f.Name)
	if err != nil {
		return err
	}
	fr := &folderRun{r: r, f: f, ref: ref, uv: uv, failed: st.Failed,
		sent: map[mailbox.ContentKey]int{}}
	p, err := fr.plan(st, metas)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.itemsTotal += int64(len(metas)) - int64(f.Messages)
	r.itemsDone += int64(len(metas) - len(p.cands))
	r.mu.Unlock()
	if err := fr.decide(ctx, &p, ensureErr); err != nil {
		return err
	}
	if err := fr.record(st, &p); err != nil {
		return err
	}
	if len(p.flagUps) > 0 && ensureErr == nil {
		if err := fr.updateFlags(ctx, p.flagUps); err != nil {
			return err
		}
	}
	if len(p.cands) == 0 {
		r.progress(false, "")
		return nil
	}
	tPlan := time.Since(t0)
	defer func() {
		r.log.Debug("folder fetched", "folder", f.Name, "listed", len(metas), "to send", len(p.cands),
			"list", tList, "plan", tPlan-tList, "fetch", time.Since(t0)-tPlan)
	}()
	if err := fr.transfer(ctx, p.cands); err != nil {
		if errors.Is(err, source.ErrUIDValidity) {
			r.log.Warn("UIDVALIDITY changed during the pass; the folder will be redone by the next pass", "folder", f.Name)
			r.progress(true, fmt.Sprintf("folder %q changed on the source during the pass; run the pass again", f.Name))
			return nil
		}
		return err
	}
	r.progress(false, "")
	return nil
}

// folderPlan is what a folder pass decided about the listed messages.
type folderPlan struct {
	cands      []mailbox.Meta             // to send
	doneCK     map[mailbox.ContentKey]int // content keys of the messages already migrated
	relabel    []store.DoneItem           // found again by content key after a UIDVALIDITY change
	dedup      []store.DoneItem           // found at the destination: done without sending
	failures   []store.FailedItem         // failed without sending
	firstFlags []store.FlagRecord         // flag sets journaled for the first time
	flagUps    []flagUpdate               // flag changes to propagate
}

// journalPage is how many listed messages plan looks up in the journal
// per read transaction: the folder's journal is read a page at a time,
// never loaded whole.
const journalPage = 1000

// plan sorts the listed messages into done (flags compared, a page of
// journal lookups at a time) and candidates, recognises migrated messages
// by content key after a UIDVALIDITY change, and keeps the candidates of
// the pass.
func (fr *folderRun) plan(st *store.FolderState, metas []mailbox.Meta) (folderPlan, error) {
	var p folderPlan
	var done []int // indices into metas (not copies: metas can be large)
	keys := make([]mailbox.Key, 0, min(len(metas), journalPage))
	isDone := make([]bool, min(len(metas), journalPage))
	for start := 0; start < len(metas); start += journalPage {
		page := metas[start:min(start+journalPage, len(metas))]
		keys = keys[:0]
		for _, m := range page {
			keys = append(keys, m.JournalKey(fr.uv))
		}
		clear(isDone)
		err := fr.r.e.j.Done(fr.r.p.Name, fr.r.id, fr.f.Name, keys, func(i int, destID string, was store.FlagSet) {
			isDone[i] = true
			// Flags changed on the source since the message was migrated.
			fr.flagChange(&p, page[i], keys[i], destID, was)
		})
		if err != nil {
			return p, err
		}
		for i := range page {
			if isDone[i] {
				done = append(done, start+i)
			}
		}
	}
	// The others are the candidates. On a first pass that is the listing
	// itself (no copy; nothing changes it in place, see keepMetas).
	p.cands = metas
	if len(done) > 0 {
		p.cands = make([]mailbox.Meta, 0, len(metas)-len(done))
		next := 0 // into done (ascending)
		for i, m := range metas {
			if next < len(done) && done[next] == i {
				next++
				continue
			}
			p.cands = append(p.cands, m)
		}
	}
	// Content keys of the done messages, needed only when something is
	// left to decide (a no-op pass computes no hash at all).
	p.doneCK = map[mailbox.ContentKey]int{}
	if len(p.cands) > 0 {
		for _, i := range done {
			p.doneCK[metas[i].ContentKey()]++
		}
	}
	if st.UIDValidity != 0 && st.UIDValidity != fr.uv {
		fr.r.log.Warn("UIDVALIDITY changed; falling back to content keys", "folder", fr.f.Name, "was", st.UIDValidity, "now", fr.uv)
		if err := fr.relabelByContent(&p); err != nil {
			return p, err
		}
	}
	p.cands = fr.r.selectForPass(st, fr.uv, p.cands)
	return p, nil
}

// relabelByContent marks as done the candidates whose content key the
// journal holds from before a UIDVALIDITY change (and not yet matched).
func (fr *folderRun) relabelByContent(p *folderPlan) error {
	journalCK, err := fr.r.e.j.ContentDone(fr.r.p.Name, fr.r.id, fr.f.Name)
	if err != nil {
		return err
	}
	for ck, n := range p.doneCK {
		journalCK[ck] -= n
	}
	p.cands = keepMetas(p.cands, func(m mailbox.Meta) bool {
		ck := m.ContentKey()
		if journalCK[ck] > 0 {
			journalCK[ck]--
			p.doneCK[ck]++
			p.relabel = append(p.relabel, store.DoneItem{Key: m.JournalKey(fr.uv), ContentKey: ck, Size: m.Size, Via: store.ViaJournal,
				Flags: store.MakeFlagSet(m.Flags)})
			return false
		}
		return true
	})
	return nil
}

// keepMetas returns the metas keep accepts (called once for each, in
// order): ms itself when it accepts all of them, else a new slice. ms is
// never changed: the candidates of a first pass are the source's listing.
func keepMetas(ms []mailbox.Meta, keep func(mailbox.Meta) bool) []mailbox.Meta {
	for i, m := range ms {
		if keep(m) {
			continue
		}
		out := make([]mailbox.Meta, i, len(ms)-1)
		copy(out, ms[:i])
		for _, m := range ms[i+1:] {
			if keep(m) {
				out = append(out, m)
			}
		}
		return out
	}
	return ms
}

// selectForPass keeps the candidates the pass moves: the failed ones for
// Retry Errors, a few small ones per folder for Trial, all otherwise.
func (r *userRun) selectForPass(st *store.FolderState, uv uint32, cands []mailbox.Meta) []mailbox.Meta {
	switch r.pass {
	case project.PassRetry:
		return keepMetas(cands, func(m mailbox.Meta) bool {
			_, ok := st.Failed[m.JournalKey(uv)]
			return ok
		})
	case project.PassTrial:
		r.mu.Lock()
		defer r.mu.Unlock()
		n := 0
		return keepMetas(cands, func(m mailbox.Meta) bool {
			if n >= TrialItemsPerFolder || r.trialBytes+m.Size > TrialMaxBytes {
				return false
			}
			r.trialBytes += m.Size
			n++
			return true
		})
	default:
		return cands
	}
}

// decide checks the candidates against the destination: all fail when
// its folder could not be created; those it already holds (by content
// key) are done without sending; those over the item size limit fail.
func (fr *folderRun) decide(ctx context.Context, p *folderPlan, ensureErr error) error {
	if len(p.cands) == 0 {
		return nil
	}
	if ensureErr != nil {
		for _, m := range p.cands {
			p.failures = append(p.failures, fr.failure(m, "the destination folder could not be created: "+ensureErr.Error(),
				"check the folder mapping and the destination's folder name rules, then Retry Errors"))
		}
		p.cands = nil
		return nil
	}
	r := fr.r
	existing, err := r.dst.Existing(ctx, fr.ref)
	if err != nil {
		return err
	}
	fr.existing0 = existing
	avail := make(map[mailbox.ContentKey]int, len(existing))
	for k, n := range existing {
		avail[k] = n - p.doneCK[k]
	}
	p.cands = keepMetas(p.cands, func(m mailbox.Meta) bool {
		ck := m.ContentKey()
		if avail[ck] > 0 {
			avail[ck]--
			p.dedup = append(p.dedup, store.DoneItem{Key: m.JournalKey(fr.uv), ContentKey: ck, Size: m.Size, Via: store.ViaDest,
				Flags: store.MakeFlagSet(m.Flags)})
			return false
		}
		if r.maxItem > 0 && m.Size > r.maxItem {
			p.failures = append(p.failures, fr.failure(m,
				fmt.Sprintf("message is %s, over the %s limit set by %s", size.Human(m.Size), size.Human(r.maxItem), r.maxItemSource),
				"raise the limit (MaxItemSizeMB) if the destination accepts larger items, then Retry Errors"))
			return false
		}
		return true
	})
	return nil
}

// record journals what the plan settled without a transfer (and a new
// UIDVALIDITY) and counts it.
func (fr *folderRun) record(st *store.FolderState, p *folderPlan) error {
	if len(p.relabel)+len(p.dedup)+len(p.failures)+len(p.firstFlags) == 0 && st.UIDValidity == fr.uv {
		return nil
	}
	r := fr.r
	b := store.Batch{Folder: fr.f.Name, UIDValidity: fr.uv, Done: append(p.relabel, p.dedup...), Failed: p.failures, Flags: p.firstFlags}
	if err := r.commit(b); err != nil {
		return err
	}
	r.mu.Lock()
	r.skipped += int64(len(p.dedup))
	r.itemsDone += int64(len(p.failures) + len(p.dedup))
	r.mu.Unlock()
	r.countFailed(len(p.failures))
	return nil
}

func (fr *folderRun) failure(m mailbox.Meta, reason, hint string) store.FailedItem {
	return store.FailedItem{Key: m.JournalKey(fr.uv), ContentKey: m.ContentKey(), Folder: fr.f.Name, UID: m.UID,
		Subject: m.Subject, Date: m.Date, Size: m.Size, Reason: reason, Hint: hint,
		Pass: fr.r.pass, PassSeq: fr.r.seq, Time: fr.r.e.opts.Now()}
}

// Fetch chunks: the engine fetches the candidates' bodies this many bytes
// (by listed size) and messages at a time, taking the bytes from the
// memory budget before each chunk is fetched, so that what the source
// reads is always within the budget.
const (
	fetchChunkBytes    = 2 << 20
	fetchChunkMessages = 500
)

// transfer fetches the candidates' bodies from the source chunk by chunk
// (each chunk's bytes taken from the budget first), cuts them into
// batches by the destination's Limits and writes them one after the other
// (the next chunk is fetched while a batch is written), journaling each
// batch as soon as its Put returns. Memory: at most the engine's budget
// of bodies, shared with the other folders and users.
func (fr *folderRun) transfer(ctx context.Context, cands []mailbox.Meta) error {
	r := fr.r
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	gmailIDs := map[uint32]uint64{} // Gmail sources only
	for _, m := range cands {
		if m.GmailID != 0 {
			gmailIDs[m.UID] = m.GmailID
		}
	}
	batches := make(chan []mailbox.Message, 1)
	putDone := make(chan error, 1)
	go func() { putDone <- fr.writeBatches(ctx, cancel, batches) }()
	b := &batcher{fr: fr, ctx: ctx, out: batches, gmailIDs: gmailIDs}
	err := fr.fetchChunks(ctx, b, cands)
	if err == nil {
		err = b.flush()
	} else if errors.Is(err, imapconn.ErrBandwidthLimit) {
		// Paused at the daily limit: what arrived whole is written before
		// the user stops, so the next pass starts after it.
		if ferr := b.flush(); ferr != nil {
			err = ferr
		}
	}
	r.mem.releaseMsgs(b.cur) // not flushed (error): never sent
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

// fetchChunks fetches cands chunk by chunk into b. Before a chunk is
// fetched its listed bytes are taken from the budget (the batch being
// filled is handed on first when they must be waited for, so that what
// this folder holds moves on); once it is fetched, the difference to the
// bodies that arrived is given back. The bodies then belong to the
// batches, which give them back when written.
func (fr *folderRun) fetchChunks(ctx context.Context, b *batcher, cands []mailbox.Meta) error {
	r := fr.r
	uids := make([]uint32, 0, min(len(cands), fetchChunkMessages))
	for len(cands) > 0 {
		// The next chunk: cands[:n] (a larger single message on its own).
		var want int64
		n := 0
		for n < len(cands) && n < fetchChunkMessages && (n == 0 || want+max(cands[n].Size, 0) <= fetchChunkBytes) {
			want += max(cands[n].Size, 0)
			n++
		}
		uids = uids[:0]
		for _, m := range cands[:n] {
			uids = append(uids, m.UID)
		}
		cands = cands[n:]
		if !r.mem.tryAcquire(want) {
			if err := b.flush(); err != nil {
				return err
			}
			if err := r.mem.acquire(ctx, want); err != nil {
				return err
			}
		}
		var got int64
		err := r.src.Fetch(ctx, fr.f, uids, func(m mailbox.Message) error {
			if err := b.add(m); err != nil {
				return err
			}
			got += int64(len(m.Body)) // now the batches' to give back
			return nil
		})
		r.mem.release(want - got)
		if err != nil {
			return err
		}
	}
	return nil
}

// writeBatches writes the batches one after the other until batches is
// closed. After the first error (which cancels ctx) or once ctx is done it
// only drains them (the next pass redoes them); it returns the first error.
func (fr *folderRun) writeBatches(ctx context.Context, cancel context.CancelCauseFunc, batches <-chan []mailbox.Message) error {
	r := fr.r
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
	return first
}

// batcher cuts the fetched messages into batches by the destination's
// Limits and hands them to the writer.
type batcher struct {
	fr       *folderRun
	ctx      context.Context
	out      chan<- []mailbox.Message
	cur      []mailbox.Message // the batch being filled
	curBytes int64
	gmailIDs map[uint32]uint64 // the candidates' X-GM-MSGID by UID
}

// flush hands the current batch (if any) to the writer.
func (b *batcher) flush() error {
	if len(b.cur) == 0 {
		return nil
	}
	select {
	case b.out <- b.cur:
	case <-b.ctx.Done():
		return context.Cause(b.ctx)
	}
	b.cur, b.curBytes = nil, 0
	return nil
}

// add keys m and adds it to the current batch, first flushing a full
// batch. Its body's bytes are already taken from the budget (fetchChunks).
func (b *batcher) add(m mailbox.Message) error {
	fr, r := b.fr, b.fr.r
	if id, ok := b.gmailIDs[m.UID]; ok {
		// The candidate's Gmail identity, whatever the source kept of
		// its listing.
		m.GmailID = id
		m.Key = m.JournalKey(fr.uv)
	} else if m.Key == "" {
		m.Key = m.JournalKey(fr.uv)
	}
	if m.ContentKey == "" {
		m.ContentKey = m.Meta.ContentKey()
	}
	if len(b.cur) > 0 && (len(b.cur) >= r.limits.BatchSize || b.curBytes+int64(len(m.Body)) > r.limits.BatchBytes) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.cur = append(b.cur, m)
	b.curBytes += int64(len(m.Body))
	return nil
}

// putBatch writes one batch and journals the outcome of every message.
// When the connection breaks, the messages the destination confirmed are
// kept as done; before retrying the rest, the destination is asked
// (Existing) whether a message in flight was stored after all, so a retry
// never duplicates. An attempt that got messages written (confirmed, or
// found written when reconciling) starts the count of attempts over: a
// destination connection that drops every few MB keeps going while it
// moves mail.
func (fr *folderRun) putBatch(ctx context.Context, batch []mailbox.Message) error {
	w := &batchWrite{fr: fr, pending: batch, localDone: map[mailbox.ContentKey]int{}}
	err := fr.r.retrier().doProgress(ctx, fmt.Sprintf("write to %q", fr.ref.Path),
		func() error { return w.attempt(ctx) }, func() error { return w.reconcile(ctx) }, w.progressed)
	switch {
	case err == nil:
		if len(w.results) != len(w.pending) {
			return fmt.Errorf("destination returned %d results for %d messages", len(w.results), len(w.pending))
		}
		for i, m := range w.pending {
			if res := w.results[i]; res.Err == nil {
				w.markDone(m, res.DestID)
			} else {
				w.fail(m, res.Err)
			}
		}
	case ctx.Err() != nil || Retryable(err):
		// Stopped, or the connection stays down: journal what is known
		// below; the rest is redone by the next pass.
	default:
		// The server refused the batch as a whole: every message fails.
		for _, m := range w.pending {
			w.fail(m, err)
		}
		err = nil
	}
	if cerr := fr.journalWritten(w.done, w.failures); cerr != nil {
		return cerr
	}
	return err
}

// batchWrite is one batch on its way to the destination.
type batchWrite struct {
	fr         *folderRun
	pending    []mailbox.Message // not yet confirmed or refused
	results    []mailbox.Result  // of the last attempt, for pending
	done       []store.DoneItem
	failures   []store.FailedItem
	localDone  map[mailbox.ContentKey]int // done by content key
	doneBefore int                        // len(done) when last asked about progress
}

func (w *batchWrite) markDone(m mailbox.Message, destID string) {
	w.done = append(w.done, store.DoneItem{Key: m.Key, ContentKey: m.ContentKey, DestID: destID, Size: m.Size,
		Flags: store.MakeFlagSet(m.Flags)})
	w.localDone[m.ContentKey]++
}

func (w *batchWrite) fail(m mailbox.Message, err error) {
	reason, hint := explain(err)
	w.failures = append(w.failures, w.fr.failure(m.Meta, reason, hint))
}

// progressed reports whether messages were written since it was last asked.
func (w *batchWrite) progressed() bool {
	p := len(w.done) > w.doneBefore
	w.doneBefore = len(w.done)
	return p
}

// attempt Puts the pending messages once. When it fails with a result per
// message, the confirmed ones are done, per-item refusals final, and the
// rest (in flight or unsent) stays pending for the next attempt.
func (w *batchWrite) attempt(ctx context.Context) error {
	if len(w.pending) == 0 {
		w.results = nil
		return nil
	}
	results, err := w.fr.r.dst.Put(ctx, w.fr.ref, w.pending)
	w.results = results
	if err == nil || len(results) != len(w.pending) {
		return err
	}
	kept := w.pending[:0:0]
	for i, m := range w.pending {
		switch ie := results[i].Err; {
		case ie == nil:
			w.markDone(m, results[i].DestID)
		case Retryable(ie) || errors.Is(ie, context.Canceled):
			kept = append(kept, m)
		default:
			w.fail(m, ie)
		}
	}
	w.pending, w.results = kept, nil
	return err
}

// reconcile asks the destination what the failed attempt stored that it
// could not confirm, and marks that many pending messages done.
func (w *batchWrite) reconcile(ctx context.Context) error {
	fr := w.fr
	now, err := fr.r.dst.Existing(ctx, fr.ref)
	if err != nil {
		return err
	}
	extra := map[mailbox.ContentKey]int{}
	fr.mu.Lock()
	for _, m := range w.pending {
		ck := m.ContentKey
		if _, ok := extra[ck]; !ok {
			extra[ck] = now[ck] - fr.existing0[ck] - fr.sent[ck] - w.localDone[ck]
		}
	}
	fr.mu.Unlock()
	kept := w.pending[:0:0]
	for _, m := range w.pending {
		if extra[m.ContentKey] > 0 {
			extra[m.ContentKey]--
			w.markDone(m, "")
			continue
		}
		kept = append(kept, m)
	}
	fr.r.log.Debug("reconciled a broken batch", "folder", fr.f.Name, "unconfirmed", len(w.pending), "found written", len(w.pending)-len(kept))
	w.pending = kept
	return nil
}

// journalWritten commits the outcome of a batch and counts it.
func (fr *folderRun) journalWritten(done []store.DoneItem, failures []store.FailedItem) error {
	if len(done)+len(failures) == 0 {
		return nil
	}
	r := fr.r
	var bytes int64
	for _, d := range done {
		bytes += d.Size
	}
	if err := r.commit(store.Batch{Folder: fr.f.Name, UIDValidity: fr.uv, Done: done, Failed: failures}); err != nil {
		return err
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
	r.sent += int64(len(done) + len(failures))
	r.mu.Unlock()
	r.countFailed(len(failures))
	r.progress(false, "")
	return nil
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
