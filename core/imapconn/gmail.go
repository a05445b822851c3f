package imapconn

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// CapGmail is Gmail's IMAP extensions capability (X-GM-MSGID,
// X-GM-LABELS, X-GM-THRID, X-GM-RAW):
// https://developers.google.com/workspace/gmail/imap/imap-extensions
const CapGmail imap.Cap = "X-GM-EXT-1"

// GmailMessage is what Gmail says of one message of a folder: its
// X-GM-MSGID (the same in every folder showing it: one message, several
// labels) and its X-GM-LABELS (decoded; system labels keep their
// backslash, e.g. `\Inbox`, `\Starred`, `\Important`).
type GmailMessage struct {
	MsgID  uint64
	Labels []string
}

// GmailMessages examines mailbox (read-only) and returns its UIDVALIDITY
// and, by UID, every message's X-GM-MSGID and X-GM-LABELS, from one
// UID FETCH 1:* (X-GM-MSGID X-GM-LABELS). go-imap's client
// (v2.0.0-beta.8) cannot parse these items, hence the raw connection.
// Messages the server gives no X-GM-MSGID are left out.
func (c *RawConn) GmailMessages(ctx context.Context, mailbox string) (uint32, map[uint32]GmailMessage, error) {
	var uv uint32
	out := map[uint32]GmailMessage{}
	err := c.Run(ctx, fmt.Sprintf("UID FETCH X-GM-MSGID in %q", mailbox), func(touch func()) error {
		tag := c.Tag()
		c.WriteString(tag + " EXAMINE ")
		if refused, err := c.writeAString(EncodeMailboxName(mailbox)); err != nil || refused != nil {
			if refused != nil {
				return refused.Err()
			}
			return err
		}
		fetch := c.Tag()
		c.WriteString("\r\n" + fetch + " UID FETCH 1:* (UID X-GM-MSGID X-GM-LABELS)\r\n")
		if err := c.Flush(); err != nil {
			return err
		}
		for {
			r, err := c.ReadResponse()
			if err != nil {
				return err
			}
			touch()
			switch {
			case r.Tag == tag:
				if err := r.Err(); err != nil {
					return err
				}
			case r.Tag == fetch:
				return r.Err()
			case r.Tag == "*" && r.Type == "BYE":
				return fmt.Errorf("server closed the connection: %s", r.Text)
			case r.Tag == "*" && r.Code == "UIDVALIDITY":
				n, _ := strconv.ParseUint(r.CodeArgs, 10, 32)
				uv = uint32(n)
			case r.Tag == "*":
				if uid, m, ok := parseGmailFetch(r.Line); ok {
					out[uid] = m
				}
			}
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return uv, out, nil
}

// parseGmailFetch reads `* n FETCH (UID u X-GM-MSGID id X-GM-LABELS (...)
// ...)` (items in any order, others skipped).
func parseGmailFetch(line string) (uid uint32, m GmailMessage, ok bool) {
	_, rest, found := strings.Cut(line, " FETCH (")
	if !found {
		return 0, m, false
	}
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" || rest[0] == ')' {
			break
		}
		name, after, _ := strings.Cut(rest, " ")
		var val string
		switch {
		case strings.HasPrefix(after, "("):
			val, rest = readList(after)
		default:
			if v, tail, isStr := readString(after); isStr {
				val, rest = v, tail
			} else {
				end := strings.IndexAny(after, " )")
				if end < 0 {
					end = len(after)
				}
				val, rest = after[:end], after[end:]
			}
		}
		switch strings.ToUpper(name) {
		case "UID":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return 0, m, false
			}
			uid = uint32(n)
		case "X-GM-MSGID":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return 0, m, false
			}
			m.MsgID = n
		case "X-GM-LABELS":
			m.Labels = parseLabels(val)
		}
	}
	return uid, m, uid != 0 && m.MsgID != 0
}

// readList returns the inside of the parenthesised list at the start of s
// (quoted strings and literals taken into account) and what follows it.
func readList(s string) (inside, rest string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '{':
			_, tail, ok := readString(s[i:])
			if !ok {
				return s[1:], ""
			}
			i = len(s) - len(tail) - 1
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:]
			}
		}
	}
	return s[1:], ""
}

// parseLabels splits X-GM-LABELS' list into labels (decoded from
// modified UTF-7).
func parseLabels(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out
		}
		if v, tail, ok := readString(s); ok {
			out = append(out, DecodeMailboxName(v))
			s = tail
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		if a := s[:end]; strings.HasPrefix(a, `\`) {
			out = append(out, a)
		} else {
			out = append(out, DecodeMailboxName(a))
		}
		s = s[end:]
	}
}
