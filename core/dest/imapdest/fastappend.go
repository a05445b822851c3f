package imapdest

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
)

// Limits of one MULTIAPPEND command; a Put's messages beyond them go in
// further commands on the same connection.
const (
	multiMaxMessages = 200
	multiMaxBytes    = 32 << 20
)

// dateTimeLayout is IMAP's date-time (RFC 3501 §9) for APPEND.
const dateTimeLayout = "_2-Jan-2006 15:04:05 -0700"

// fast reports whether Put uses the raw APPEND path: the server offers
// MULTIAPPEND or LITERAL+ (go-imap's client uses neither) and
// Options.NoFastAppend is not set.
func (d *Destination) fast() bool {
	return !d.opt.NoFastAppend && (d.caps.Has(imap.CapMultiAppend) || d.caps.Has(imap.CapLiteralPlus))
}

// putFast appends the unsent messages on one RawConn: MULTIAPPEND commands
// of up to multiMaxMessages/multiMaxBytes where offered (else one APPEND
// per message), with LITERAL+ literals where offered, all commands written
// before their answers are read. A MULTIAPPEND the server refuses is
// all-or-nothing (RFC 3502: nothing of it was stored), so its messages are
// then sent one per APPEND to find the one that is refused. Same contract
// as putOnce.
func (d *Destination) putFast(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message, results []mailbox.Result, state []int) (progress bool, err error) {
	pol, err := d.cachedPolicy(ctx, f.ID)
	if err != nil {
		return false, err
	}
	c, err := d.raw.Get(ctx)
	if err != nil {
		return false, err
	}
	defer d.raw.Put(c)
	var todo []int
	for i := range msgs {
		if state[i] == unsent {
			todo = append(todo, i)
		}
	}
	multi := c.Caps().Has(imap.CapMultiAppend)
	mbox := encodeMailbox(f.ID)
	var folderErr error
	err = c.Run(finishInFlight(ctx), fmt.Sprintf("APPEND to %q", f.ID), func(touch func()) error {
		for len(todo) > 0 && folderErr == nil {
			groups := group(todo, msgs, multi)
			var retry []int
			var connFail error
			p, ferr, err := d.appendGroups(c, mbox, f, pol, groups, msgs, results, state, touch, &retry)
			progress = progress || p
			folderErr = ferr
			if err != nil {
				connFail = err
			}
			if connFail != nil {
				return connFail
			}
			todo = retry
			multi = false // refused groups go again one by one
		}
		return nil
	})
	if folderErr != nil {
		d.forget(f.ID)
		if err == nil {
			err = folderErr
		}
	}
	return progress, err
}

// cachedPolicy returns the folder's flag policy, selecting it on a pooled
// connection the first time.
func (d *Destination) cachedPolicy(ctx context.Context, name string) (*flagPolicy, error) {
	d.mu.Lock()
	p := d.flags[name]
	d.mu.Unlock()
	if p != nil {
		return p, nil
	}
	c, err := d.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer d.pool.Put(c)
	p, err = d.policy(ctx, c, name)
	if err != nil {
		if ie, ok := imapconn.ServerError(err); ok && (ie.Code == imap.ResponseCodeNonExistent || ie.Code == imap.ResponseCodeTryCreate) {
			d.forget(name)
			return nil, fmt.Errorf("folder %q does not exist on the destination: %w", name, err)
		}
		return nil, err
	}
	return p, nil
}

// group cuts todo into commands: runs of messages within the MULTIAPPEND
// limits, or single messages.
func group(todo []int, msgs []mailbox.Message, multi bool) [][]int {
	if !multi {
		out := make([][]int, len(todo))
		for k, i := range todo {
			out[k] = []int{i}
		}
		return out
	}
	return mailbox.Chunks(todo, multiMaxMessages, multiMaxBytes, func(i int) (int64, bool) {
		return int64(len(msgs[i].Body)), true
	})
}

// appendGroups sends one APPEND command per group and reads the answers.
// With non-synchronizing literals every command is written before any
// answer is read; otherwise each command waits for the server's
// continuation requests and its answer before the next. Groups of several
// messages that the server refuses (not for a missing folder) are added
// to retry. err is a connection failure: messages of commands that were
// written but not answered stay "sent", those never started go back to
// "unsent".
func (d *Destination) appendGroups(c *imapconn.RawConn, mbox string, f mailbox.FolderRef, pol *flagPolicy, groups [][]int,
	msgs []mailbox.Message, results []mailbox.Result, state []int, touch func(), retry *[]int) (progress bool, folderErr, err error) {
	nonSync := true
	for _, g := range groups {
		for _, i := range g {
			if !c.NonSyncLiteral(len(msgs[i].Body)) {
				nonSync = false
			}
		}
	}
	a := &groupAppend{c: c, f: f, msgs: msgs, results: results, state: state, touch: touch, retry: retry}
	for gi, g := range groups {
		if a.folderErr != nil {
			break
		}
		tag := c.Tag()
		c.WriteString(tag + " APPEND " + mbox)
		for _, i := range g {
			state[i] = sent
		}
		refused, werr := a.writeMessages(g, pol)
		if werr != nil {
			// Nothing answered after this point is known; what was not
			// started is unsent.
			markUnstarted(groups[gi+1:], state)
			return a.progress, a.folderErr, werr
		}
		if refused != nil {
			a.answer(g, refused)
			continue
		}
		c.WriteString("\r\n")
		a.pending = append(a.pending, sentCmd{tag, g})
		if !nonSync {
			if err := c.Flush(); err != nil {
				markUnstarted(groups[gi+1:], state)
				return a.progress, a.folderErr, err
			}
			if err := a.readAnswers(); err != nil {
				markUnstarted(groups[gi+1:], state)
				return a.progress, a.folderErr, err
			}
		}
	}
	if err := c.Flush(); err != nil {
		return a.progress, a.folderErr, err
	}
	if err := a.readAnswers(); err != nil {
		return a.progress, a.folderErr, err
	}
	return a.progress, a.folderErr, nil
}

// groupAppend is one appendGroups call: the connection, the messages and
// their results and states, and the commands sent and not answered yet.
type groupAppend struct {
	c         *imapconn.RawConn
	f         mailbox.FolderRef
	msgs      []mailbox.Message
	results   []mailbox.Result
	state     []int
	touch     func()
	retry     *[]int
	pending   []sentCmd
	progress  bool  // a message got a final answer
	folderErr error // the folder is gone
}

// sentCmd is an APPEND command written and not answered yet.
type sentCmd struct {
	tag string
	g   []int
}

// writeMessages writes the arguments of group g's messages (flags, date,
// literal). refused is the server's answer when it refused a literal.
func (a *groupAppend) writeMessages(g []int, pol *flagPolicy) (refused *imapconn.Response, werr error) {
	for _, i := range g {
		m := a.msgs[i]
		var b strings.Builder
		b.WriteByte(' ')
		if fl := pol.filter(m.Flags); len(fl) > 0 {
			b.WriteByte('(')
			for k, x := range fl {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(string(x))
			}
			b.WriteString(") ")
		}
		if !m.InternalDate.IsZero() {
			b.WriteString(`"` + m.InternalDate.Format(dateTimeLayout) + `" `)
		}
		a.c.WriteString(b.String())
		refused, werr = a.c.WriteLiteral(m.Body, a.touch)
		if refused != nil || werr != nil {
			return refused, werr
		}
	}
	return nil, nil
}

// readAnswers reads responses until every pending command is answered.
func (a *groupAppend) readAnswers() error {
	for len(a.pending) > 0 {
		r, err := a.c.ReadResponse()
		if err != nil {
			return err
		}
		if r.Tag == "*" || r.Tag == "+" {
			if r.Type == "BYE" {
				return fmt.Errorf("server closed the connection: %s", r.Text)
			}
			continue
		}
		k := -1
		for j, p := range a.pending {
			if p.tag == r.Tag {
				k = j
				break
			}
		}
		if k < 0 {
			return fmt.Errorf("answer with unknown tag: %q", r.Line)
		}
		a.answer(a.pending[k].g, r)
		a.pending = append(a.pending[:k], a.pending[k+1:]...)
	}
	return nil
}

// answer records the server's answer r to the APPEND of group g.
func (a *groupAppend) answer(g []int, r *imapconn.Response) {
	a.touch()
	switch {
	case r.Type == "OK":
		uidv, uids := appendUIDs(r, len(g))
		for k, i := range g {
			a.state[i] = final
			if uids != nil {
				a.results[i].DestID = fmt.Sprintf("%d:%d", uidv, uids[k])
			}
		}
		a.progress = true
	case r.Code == string(imap.ResponseCodeTryCreate) || r.Code == string(imap.ResponseCodeNonExistent):
		a.folderErr = fmt.Errorf("folder %q does not exist on the destination: %w", a.f.ID, r.Err())
		for _, i := range g {
			a.state[i] = unsent
		}
	case len(g) > 1:
		for _, i := range g {
			a.state[i] = unsent
		}
		*a.retry = append(*a.retry, g...)
	default:
		ie, _ := imapconn.ServerError(r.Err())
		if ie == nil {
			ie = &imap.Error{Type: imap.StatusResponseTypeNo, Text: r.Line}
		}
		a.state[g[0]] = final
		a.results[g[0]].Err = itemError(ie, len(a.msgs[g[0]].Body))
		a.progress = true
	}
}

// markUnstarted puts the messages of groups (commands not started) back
// to unsent.
func markUnstarted(groups [][]int, state []int) {
	for _, g := range groups {
		for _, i := range g {
			if state[i] == sent {
				state[i] = unsent
			}
		}
	}
}

// appendUIDs parses [APPENDUID uidvalidity uid-set] for n messages; nil
// when absent or not n UIDs.
func appendUIDs(r *imapconn.Response, n int) (uint32, []uint32) {
	if r.Code != "APPENDUID" {
		return 0, nil
	}
	f := strings.Fields(r.CodeArgs)
	if len(f) != 2 {
		return 0, nil
	}
	uv, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, nil
	}
	var uids []uint32
	for _, part := range strings.Split(f[1], ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return 0, nil
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseUint(b, 10, 32); err != nil {
				return 0, nil
			}
		}
		if hi < lo {
			lo, hi = hi, lo
		}
		if hi-lo >= uint64(n) {
			return 0, nil
		}
		for u := lo; u <= hi; u++ {
			uids = append(uids, uint32(u))
		}
		if len(uids) > n {
			return 0, nil
		}
	}
	if len(uids) != n {
		return 0, nil
	}
	return uint32(uv), uids
}

// encodeMailbox is the mailbox name on the wire: modified UTF-7, quoted.
func encodeMailbox(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return imapconn.Quote(imapconn.EncodeMailboxName(name))
}
