package corpus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// FillStats says what Fill put on the server.
type FillStats struct {
	Delim    rune  // the server's hierarchy separator
	Folders  int   // folders created (or found existing), INBOX excluded
	Messages int   // messages appended
	Bytes    int64 // bytes appended
	// Skipped lists folders (joined with Delim) the server refused because
	// their name differs from another only in case, or as an invalid name
	// (Cyrus: `"`); their messages were not appended.
	Skipped []string
	// Refused lists the subjects of messages the server refused to store
	// (Cyrus: bare newlines); they were not appended.
	Refused []string
}

// FillMailbox logs in to the IMAP server at addr (plain text) as user and
// appends the corpus Generate(spec) to it.
func FillMailbox(ctx context.Context, addr, user, pass string, spec Spec) error {
	_, err := FillMailboxStats(ctx, addr, user, pass, spec)
	return err
}

// FillMailboxStats is FillMailbox that also reports what was appended.
func FillMailboxStats(ctx context.Context, addr, user, pass string, spec Spec) (FillStats, error) {
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}})
	if err != nil {
		return FillStats{}, fmt.Errorf("fill %s: dial %s: %w", user, addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, pass).Wait(); err != nil {
		return FillStats{}, fmt.Errorf("fill %s: login: %w", user, ctxErr(ctx, err))
	}
	st, err := Fill(ctx, c, Generate(spec))
	if err != nil {
		return st, fmt.Errorf("fill %s: %w", user, err)
	}
	if err := c.Logout().Wait(); err != nil && ctx.Err() != nil {
		return st, fmt.Errorf("fill %s: %w", user, ctx.Err())
	}
	return st, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Fill creates the corpus's folders on an authenticated client and appends
// its messages with their flags and INTERNALDATEs. Folders that already
// exist are reused.
func Fill(ctx context.Context, c *imapclient.Client, corpus *Corpus) (FillStats, error) {
	var st FillStats
	list, err := c.List("", "", nil).Collect()
	if err != nil {
		return st, fmt.Errorf("list delimiter: %w", ctxErr(ctx, err))
	}
	st.Delim = '/'
	if len(list) > 0 && list[0].Delim != 0 {
		st.Delim = list[0].Delim
	}
	prefix, err := personalPrefix(c)
	if err != nil {
		return st, fmt.Errorf("namespace: %w", ctxErr(ctx, err))
	}
	name := func(path []string) string {
		n := strings.Join(path, string(st.Delim))
		if prefix != "" && !strings.EqualFold(path[0], "INBOX") {
			n = prefix + n
		}
		return n
	}
	skipped := map[string]bool{}
	for _, f := range corpus.Folders {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n := name(f.Path)
		if !strings.EqualFold(n, "INBOX") {
			err := c.Create(n, nil).Wait()
			var ie *imap.Error
			switch {
			case err == nil:
			case errors.As(err, &ie) && (ie.Code == imap.ResponseCodeAlreadyExists || strings.Contains(strings.ToLower(ie.Text), "exists")):
				if f.CaseTwinOf != nil {
					skipped[n] = true
					st.Skipped = append(st.Skipped, n)
					continue
				}
			case errors.As(err, &ie) && strings.Contains(strings.ToLower(ie.Text), "invalid mailbox name"):
				// Cyrus refuses `"` in names: the folder cannot exist there.
				skipped[n] = true
				st.Skipped = append(st.Skipped, n)
				continue
			default:
				return st, fmt.Errorf("create %q: %w", n, ctxErr(ctx, err))
			}
			st.Folders++
		}
		if f.Subscribed {
			if err := c.Subscribe(n).Wait(); err != nil {
				return st, fmt.Errorf("subscribe %q: %w", n, ctxErr(ctx, err))
			}
		}
	}
	for _, m := range corpus.Messages {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n := name(m.Folder)
		if skipped[n] {
			continue
		}
		cmd := c.Append(n, int64(len(m.Raw)), &imap.AppendOptions{Flags: m.Flags, Time: m.InternalDate})
		if _, err := cmd.Write(m.Raw); err != nil {
			cmd.Close()
			return st, fmt.Errorf("append to %q: %w", n, ctxErr(ctx, err))
		}
		if err := cmd.Close(); err != nil {
			return st, fmt.Errorf("append to %q: %w", n, ctxErr(ctx, err))
		}
		if _, err := cmd.Wait(); err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && strings.Contains(strings.ToLower(ie.Text), "bare newlines") {
				// Cyrus refuses bare-LF messages: it cannot hold one.
				st.Refused = append(st.Refused, m.Subject)
				continue
			}
			return st, fmt.Errorf("append %q to %q: %w", m.Subject, n, ctxErr(ctx, err))
		}
		st.Messages++
		st.Bytes += int64(len(m.Raw))
	}
	return st, nil
}

// personalPrefix is the server's first personal namespace prefix (e.g.
// "INBOX."), "" without NAMESPACE. The command is sent even when the
// capability is not announced (a test server may hide it from clients).
func personalPrefix(c *imapclient.Client) (string, error) {
	ns, err := c.Namespace().Wait()
	var ie *imap.Error
	if errors.As(err, &ie) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(ns.Personal) == 0 {
		return "", nil
	}
	return ns.Personal[0].Prefix, nil
}
