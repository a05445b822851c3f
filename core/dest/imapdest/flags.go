package imapdest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
)

var _ mailbox.FlagUpdater = (*Destination)(nil)

// storeMaxUIDs bounds the UIDs of one UID STORE command (its line must stay
// well under the servers' line limits, 64 KiB for Dovecot).
const storeMaxUIDs = 500

// UpdateFlags gives messages written earlier (DestID "UIDVALIDITY:UID")
// their exact flag set with UID STORE uid FLAGS (...), under the same
// policy as Put (\Seen \Answered \Flagged \Draft, keywords allowed by
// PERMANENTFLAGS; never \Deleted or \Recent — so a \Deleted set on the
// destination is cleared). Messages that get the same flags share a
// command (FLAGS.SILENT: the server sends nothing back per message); all
// commands are written before any answer is read. An update whose DestID
// is not "UIDVALIDITY:UID", or whose UIDVALIDITY is no longer the folder's,
// or in a folder that cannot be selected, fails with
// mailbox.ErrStaleDestID. A message expunged on the destination cannot be
// told apart (a STORE on its UID does nothing, successfully). A command the
// server refuses fails its updates with an *mailbox.ItemError. On a
// connection failure the unanswered updates carry the error, which is
// also returned.
func (d *Destination) UpdateFlags(ctx context.Context, f mailbox.FolderRef, updates []mailbox.FlagUpdate) ([]mailbox.Result, error) {
	results := make([]mailbox.Result, len(updates))
	if len(updates) == 0 {
		return results, nil
	}
	fail := func(err error) ([]mailbox.Result, error) {
		for i := range results {
			results[i].Err = err
		}
		return results, err
	}
	c, err := d.pool.Get(ctx)
	if err != nil {
		return fail(fmt.Errorf("destination: %w", err))
	}
	defer d.pool.Put(c)
	// A fresh SELECT: a connection that selected the folder before other
	// connections appended to it may not see those messages yet, and a
	// UID STORE on them would silently do nothing.
	data, err := c.Select(ctx, f.ID, false, true)
	if err != nil {
		// The folder is gone or cannot be selected (Dovecot answers a
		// plain NO, without NONEXISTENT): nothing it held can be updated.
		if ie, ok := imapconn.ServerError(err); ok {
			d.forget(f.ID)
			for i := range results {
				results[i].Err = fmt.Errorf("folder %q: %s: %w", f.ID, strings.TrimSpace(ie.Text), mailbox.ErrStaleDestID)
			}
			return results, nil
		}
		return fail(fmt.Errorf("destination: %w", err))
	}
	d.setPolicy(f.ID, data.PermanentFlags)
	groups, uidOf := groupByFlags(f, updates, data.UIDValidity, newPolicy(data.PermanentFlags), results)
	answered := make([]bool, len(updates))
	err = c.Run(ctx, fmt.Sprintf("UID STORE in %q", f.ID), func(touch func()) error {
		return storeFlags(c, groups, touch, answered, results)
	})
	if err != nil {
		err = fmt.Errorf("destination: %w", err)
	}
	for i := range updates {
		switch {
		case uidOf[i] == 0 || (answered[i] && results[i].Err != nil):
			// stale id or refused: already set
		case !answered[i]:
			results[i].Err = err
			if results[i].Err == nil {
				results[i].Err = fmt.Errorf("destination: UID STORE in %q: no answer", f.ID)
			}
		default:
			results[i].DestID = updates[i].DestID
		}
	}
	return results, err
}

// flagGroup is the updates that get the same flag set.
type flagGroup struct {
	flags []imap.Flag
	idx   []int // into updates
	uids  []imap.UID
}

// groupByFlags groups the updates by the flag set the policy gives them,
// in order of first appearance; an update with a stale destination id
// gets its error in results and UID 0 in uidOf.
func groupByFlags(f mailbox.FolderRef, updates []mailbox.FlagUpdate, uidValidity uint32, pol *flagPolicy, results []mailbox.Result) (groups []*flagGroup, uidOf []imap.UID) {
	byKey := map[string]*flagGroup{}
	uidOf = make([]imap.UID, len(updates))
	for i, u := range updates {
		uv, uid, ok := parseDestID(u.DestID)
		if !ok || uv != uidValidity {
			results[i].Err = fmt.Errorf("destination id %q in %q (UIDVALIDITY now %d): %w", u.DestID, f.ID, uidValidity, mailbox.ErrStaleDestID)
			continue
		}
		uidOf[i] = uid
		fl := pol.filter(u.Flags)
		names := make([]string, len(fl))
		for j, x := range fl {
			names[j] = strings.ToLower(string(x))
		}
		sort.Strings(names)
		key := strings.Join(names, " ")
		g := byKey[key]
		if g == nil {
			g = &flagGroup{flags: fl}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.uids = append(g.uids, uid)
	}
	return groups, uidOf
}

// storeCmd is one pipelined UID STORE and the updates it carries.
type storeCmd struct {
	idx []int
	cmd *imapclient.FetchCommand
}

// storeFlags writes every UID STORE FLAGS.SILENT (at most storeMaxUIDs
// UIDs each) before reading any answer, then drains them all, marking
// the updates answered (refusals as item errors); it returns the
// connection failure, if any.
func storeFlags(c *imapconn.Conn, groups []*flagGroup, touch func(), answered []bool, results []mailbox.Result) error {
	var cmds []storeCmd
	for _, g := range groups {
		for s := 0; s < len(g.uids); s += storeMaxUIDs {
			e := min(s+storeMaxUIDs, len(g.uids))
			var set imap.UIDSet
			set.AddNum(g.uids[s:e]...)
			flags := g.flags
			if flags == nil {
				flags = []imap.Flag{}
			}
			cmd := c.Client().Store(set, &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: flags}, nil)
			cmds = append(cmds, storeCmd{idx: g.idx[s:e], cmd: cmd})
		}
	}
	touch()
	// Drain every command concurrently (FETCH responses that other
	// sessions' changes cause may still come): the server may answer
	// pipelined commands in any order, and go-imap blocks its reader
	// when one command's queue is full.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var connFail error
	for _, sc := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := drain(sc.cmd)
			mu.Lock()
			defer mu.Unlock()
			touch()
			if err == nil {
				for _, i := range sc.idx {
					answered[i] = true
				}
				return
			}
			if ie, ok := imapconn.ServerError(err); ok {
				for _, i := range sc.idx {
					answered[i] = true
					results[i].Err = &mailbox.ItemError{
						Reason: "the destination refused to change the message's flags: " + strings.TrimSpace(ie.Text),
						Hint:   "See the server's reason; the next pass tries again.",
					}
				}
				return
			}
			if connFail == nil {
				connFail = err
			}
		}()
	}
	wg.Wait()
	return connFail
}

// drain reads a command's FETCH responses and returns how it ended.
func drain(cmd *imapclient.FetchCommand) error {
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if _, err := msg.Collect(); err != nil {
			break // the command's Close says why
		}
	}
	return cmd.Close()
}

// parseDestID splits "UIDVALIDITY:UID".
func parseDestID(id string) (uint32, imap.UID, bool) {
	a, b, ok := strings.Cut(id, ":")
	if !ok {
		return 0, 0, false
	}
	uv, err1 := strconv.ParseUint(a, 10, 32)
	uid, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || uv == 0 || uid == 0 {
		return 0, 0, false
	}
	return uint32(uv), imap.UID(uid), true
}
