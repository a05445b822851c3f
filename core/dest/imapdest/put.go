package imapdest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
)

// flagPolicy says which flags a destination folder keeps.
type flagPolicy struct {
	anyKeyword bool
	keywords   map[string]bool // lower-cased
}

func newPolicy(perm []imap.Flag) *flagPolicy {
	p := &flagPolicy{keywords: map[string]bool{}}
	if perm == nil {
		p.anyKeyword = true // no PERMANENTFLAGS: all flags are permanent
	}
	for _, f := range perm {
		if f == imap.FlagWildcard {
			p.anyKeyword = true
		}
		p.keywords[strings.ToLower(string(f))] = true
	}
	return p
}

var systemFlags = map[string]imap.Flag{
	`\seen`: imap.FlagSeen, `\answered`: imap.FlagAnswered,
	`\flagged`: imap.FlagFlagged, `\draft`: imap.FlagDraft,
}

// filter returns the flags to send: the four system flags, and keywords
// the folder keeps. \Deleted, \Recent and unknown system flags are dropped.
func (p *flagPolicy) filter(flags []string) []imap.Flag {
	var out []imap.Flag
	seen := map[string]bool{}
	for _, f := range flags {
		lf := strings.ToLower(f)
		if seen[lf] {
			continue
		}
		seen[lf] = true
		if sf, ok := systemFlags[lf]; ok {
			out = append(out, sf)
			continue
		}
		if strings.HasPrefix(f, `\`) || !validAtom(f) {
			continue
		}
		if p.anyKeyword || p.keywords[lf] {
			out = append(out, imap.Flag(f))
		}
	}
	return out
}

func validAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= 0x20 || ch >= 0x7f || strings.IndexByte(`(){%*"\]`, ch) >= 0 {
			return false
		}
	}
	return true
}

func (d *Destination) setPolicy(name string, perm []imap.Flag) {
	d.mu.Lock()
	d.flags[name] = newPolicy(perm)
	d.mu.Unlock()
}

func (d *Destination) policy(ctx context.Context, c *imapconn.Conn, name string) (*flagPolicy, error) {
	d.mu.Lock()
	p := d.flags[name]
	d.mu.Unlock()
	if p != nil {
		return p, nil
	}
	data, err := c.Select(ctx, name, false, false)
	if err != nil {
		return nil, err
	}
	d.setPolicy(name, data.PermanentFlags)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flags[name], nil
}

// item states within Put.
const (
	unsent = iota
	sent   // APPEND written, no answer (yet)
	final  // answered: written or refused
)

// Put APPENDs msgs to f with their flags (see the package policy) and
// INTERNALDATE, pipelined on one connection. Results are per message, in
// order: DestID "UIDVALIDITY:UID" when the server has UIDPLUS, or an
// *mailbox.ItemError for a message the server refused (too big, over
// quota, unparsable). If the connection fails, Put resumes the messages
// it had not sent yet on a new connection as long as it is making
// progress; otherwise it returns an error wrapping ErrConnection together
// with the results, in which messages known to be written have a nil Err
// and the others carry the connection error (a message in flight when the
// connection broke may or may not have been stored: Existing tells).
func (d *Destination) Put(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	results := make([]mailbox.Result, len(msgs))
	state := make([]int, len(msgs))
	for i, m := range msgs {
		if r := d.precheck(m); r != nil {
			results[i].Err = r
			state[i] = final
		}
	}
	var lastErr error
	// After a MULTIAPPEND lost to a dropped connection with nothing to
	// show for it, the caller's retry (once it has checked what arrived)
	// goes one message at a time; a Put that completes that way returns
	// to the fast path.
	slow := !d.fast() || d.slowNext.Load()
	moved := false // a one-at-a-time attempt wrote something
	for attempt := 0; attempt < 5; attempt++ {
		todo := 0
		for _, s := range state {
			if s == unsent {
				todo++
			}
		}
		if todo == 0 {
			break
		}
		var progress bool
		var err error
		wasSlow := slow
		if slow {
			progress, err = d.putOnce(ctx, f, msgs, results, state)
		} else {
			progress, err = d.putFast(ctx, f, msgs, results, state)
		}
		moved = moved || (wasSlow && (progress || err == nil))
		if err == nil {
			continue
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, ErrConnection) {
			break
		}
		if !progress {
			if slow {
				break
			}
			d.slowNext.Store(true)
			// A MULTIAPPEND is all or nothing: over a connection that
			// drops before one completes, send the rest one message at a
			// time so that every connection moves something.
			slow = true
		}
		d.log.Debug("destination APPEND: connection lost, resuming", "folder", f.ID, "err", err)
	}
	if slow && moved {
		d.slowNext.Store(false)
	}
	failed := false
	for i := range results {
		if state[i] != final {
			results[i].Err = lastErr
			failed = true
		}
	}
	if failed {
		return results, fmt.Errorf("destination: APPEND to %q: %w", f.ID, lastErr)
	}
	return results, nil
}

// finishInFlight is the context APPENDs run under: a Stop (ctx cancelled)
// does not cut a batch the server is already storing — its answers are
// read so the caller learns what was written, instead of the server
// committing it after the next pass has checked what exists (a
// duplicate). A server that stops answering is still cut off by the
// command timeout.
func finishInFlight(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

func (d *Destination) precheck(m mailbox.Message) error {
	if len(m.Body) == 0 {
		return &mailbox.ItemError{Reason: "the message is empty", Hint: "The source returned no content for this message; check it on the source.", Permanent: true}
	}
	if d.opt.MaxItemSize > 0 && int64(len(m.Body)) > d.opt.MaxItemSize {
		return &mailbox.ItemError{
			Reason:    fmt.Sprintf("message of %d bytes is larger than the destination's limit of %d bytes", len(m.Body), d.opt.MaxItemSize),
			Hint:      "Raise the destination's message size limit (APPENDLIMIT), or skip large items with MaxItemSizeMB.",
			Permanent: true,
		}
	}
	return nil
}

// putOnce appends the unsent messages on one connection. progress reports
// whether any message got a final answer.
func (d *Destination) putOnce(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message, results []mailbox.Result, state []int) (progress bool, err error) {
	c, err := d.pool.Get(ctx)
	if err != nil {
		return false, err
	}
	defer d.pool.Put(c)
	pol, err := d.policy(ctx, c, f.ID)
	if err != nil {
		if ie, ok := imapconn.ServerError(err); ok && (ie.Code == imap.ResponseCodeNonExistent || ie.Code == imap.ResponseCodeTryCreate) {
			d.forget(f.ID)
			return false, fmt.Errorf("folder %q does not exist on the destination: %w", f.ID, err)
		}
		return false, err
	}
	var folderErr error
	err = c.Run(finishInFlight(ctx), fmt.Sprintf("APPEND to %q", f.ID), func(touch func()) error {
		pend := sendAppends(c, f, msgs, state, pol, touch)
		answered, ferr, connFail := d.appendAnswers(f, pend, msgs, results, state, touch)
		progress = progress || answered
		if ferr != nil {
			folderErr = ferr
		}
		if connFail == nil && c.Broken() {
			connFail = fmt.Errorf("connection closed during APPEND")
		}
		return connFail
	})
	if err == nil && folderErr != nil {
		err = folderErr
	}
	return progress, err
}

// pendingAppend is an APPEND sent and not answered yet.
type pendingAppend struct {
	i   int
	cmd *appendCmd
	// unsent: the literal never left (the server refused or the
	// connection broke before its "+"), so the message cannot be
	// stored and may be retried.
	unsent bool
}

// sendAppends pipelines an APPEND for each unsent message (marking it
// sent) until the connection breaks or a write fails.
func sendAppends(c *imapconn.Conn, f mailbox.FolderRef, msgs []mailbox.Message, state []int, pol *flagPolicy, touch func()) []pendingAppend {
	var pend []pendingAppend
	for i, m := range msgs {
		if state[i] != unsent {
			continue
		}
		if c.Broken() {
			break
		}
		cmd := c.Client().Append(f.ID, int64(len(m.Body)), &imap.AppendOptions{
			Flags: pol.filter(m.Flags),
			Time:  m.InternalDate,
		})
		nw, werr := cmd.Write(m.Body)
		cerr := cmd.Close()
		touch()
		state[i] = sent
		pend = append(pend, pendingAppend{i, cmd, werr != nil && nw == 0})
		if werr != nil || cerr != nil {
			break // the command's answer (or the broken connection) says why
		}
	}
	return pend
}

// appendAnswers waits for the answers of pend and records them in results
// and state: stored (final, with its UID as DestID), refused (final, an
// item error), folder gone (unsent again; folderErr) or no answer (the
// first such error is connFail; a literal that never left is unsent
// again). progress reports whether any message got a final answer.
func (d *Destination) appendAnswers(f mailbox.FolderRef, pend []pendingAppend, msgs []mailbox.Message, results []mailbox.Result, state []int, touch func()) (progress bool, folderErr, connFail error) {
	for _, p := range pend {
		data, err := p.cmd.Wait()
		touch()
		if err == nil {
			state[p.i] = final
			progress = true
			if data != nil && data.UID != 0 {
				results[p.i].DestID = fmt.Sprintf("%d:%d", data.UIDValidity, data.UID)
			}
			continue
		}
		if ie, ok := imapconn.ServerError(err); ok {
			if ie.Code == imap.ResponseCodeTryCreate || ie.Code == imap.ResponseCodeNonExistent {
				d.forget(f.ID)
				folderErr = fmt.Errorf("folder %q does not exist on the destination: %w", f.ID, ie)
				state[p.i] = unsent
				continue
			}
			state[p.i] = final
			progress = true
			results[p.i].Err = itemError(ie, len(msgs[p.i].Body))
			continue
		}
		if p.unsent {
			state[p.i] = unsent
		}
		if connFail == nil {
			connFail = err
		}
	}
	return progress, folderErr, connFail
}

func itemError(ie *imap.Error, size int) *mailbox.ItemError {
	text := strings.TrimSpace(ie.Text)
	lt := strings.ToLower(text)
	switch {
	case ie.Code == imap.ResponseCodeTooBig || ie.Code == imap.ResponseCodeLimit ||
		strings.Contains(lt, "too large") || strings.Contains(lt, "too big") || strings.Contains(lt, "size"):
		return &mailbox.ItemError{
			Reason:    fmt.Sprintf("the destination refused the message as too large (%d bytes): %s", size, text),
			Hint:      "Raise the destination's message size limit, or skip large items with MaxItemSizeMB.",
			Permanent: true,
		}
	case ie.Code == imap.ResponseCodeOverQuota || strings.Contains(lt, "quota"):
		return &mailbox.ItemError{
			Reason:    "the destination mailbox is over quota: " + text,
			Hint:      "Raise the destination mailbox's quota, then run Retry Errors.",
			Permanent: true,
		}
	case ie.Code == imap.ResponseCodeParse || ie.Type == imap.StatusResponseTypeBad:
		return &mailbox.ItemError{
			Reason:    "the destination could not accept the message as sent: " + text,
			Hint:      "The message is probably malformed (bare CR/LF, 8-bit or NUL bytes); check it on the source.",
			Permanent: true,
		}
	}
	return &mailbox.ItemError{
		Reason: "the destination refused the message: " + text,
		Hint:   "See the server's reason; after fixing the cause run Retry Errors.",
	}
}

// forget drops a folder the server says does not exist from the cache, so
// that the next EnsureFolder creates it again.
func (d *Destination) forget(name string) {
	d.mu.Lock()
	delete(d.exists, name)
	delete(d.flags, name)
	d.mu.Unlock()
}
