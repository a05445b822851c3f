package imapconn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Lsub returns the names of the subscribed folders (decoded to UTF-8) from
// LSUB "" "*" (RFC 3501 §6.3.9). go-imap's client (v2.0.0-beta.8) has no
// LSUB command, and servers without LIST-EXTENDED can tell subscriptions
// only through it, so it is sent on a raw connection.
func (c *RawConn) Lsub(ctx context.Context) (map[string]bool, error) {
	subbed := map[string]bool{}
	err := c.Run(ctx, `LSUB "" "*"`, func(touch func()) error {
		tag := c.Tag()
		c.WriteString(tag + ` LSUB "" "*"` + "\r\n")
		if err := c.Flush(); err != nil {
			return err
		}
		for {
			r, err := c.ReadResponse()
			if err != nil {
				return err
			}
			touch()
			if r.Tag == tag {
				return r.Err()
			}
			if r.Tag != "*" {
				continue
			}
			if r.Type == "BYE" {
				return fmt.Errorf("server closed the connection: %s", r.Text)
			}
			if name, ok := parseLsub(r.Line); ok {
				subbed[name] = true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return subbed, nil
}

// parseLsub reads `* LSUB (attrs) delim name` where ReadResponse has put
// a literal name inline right after its "{n}".
func parseLsub(line string) (string, bool) {
	rest, ok := cutPrefixFold(line, "* LSUB ")
	if !ok {
		return "", false
	}
	end := strings.IndexByte(rest, ')')
	if !strings.HasPrefix(rest, "(") || end < 0 {
		return "", false
	}
	rest = strings.TrimPrefix(rest[end+1:], " ")
	// The delimiter: NIL or a quoted character.
	if _, tail, ok := readString(rest); ok {
		rest = tail
	} else if after, ok := cutPrefixFold(rest, "NIL"); ok {
		rest = after
	} else {
		return "", false
	}
	rest = strings.TrimPrefix(rest, " ")
	name, _, ok := readString(rest)
	if !ok {
		name, ok = rest, rest != ""
	}
	if !ok {
		return "", false
	}
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	return DecodeMailboxName(name), true
}

// readString reads a quoted string or a literal ("{n}" then n bytes) at
// the start of s.
func readString(s string) (val, rest string, ok bool) {
	switch {
	case strings.HasPrefix(s, `"`):
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), s[i+1:], true
			default:
				b.WriteByte(s[i])
			}
		}
	case strings.HasPrefix(s, "{"):
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return "", "", false
		}
		n, err := strconv.Atoi(strings.TrimSuffix(s[1:j], "+"))
		if err != nil || n < 0 || j+1+n > len(s) {
			return "", "", false
		}
		return s[j+1 : j+1+n], s[j+1+n:], true
	}
	return "", "", false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}
