package store

import (
	"bytes"
	"sort"
	"strings"
)

// The four IMAP system flags a FlagSet keeps as bits.
const (
	FlagSeen uint8 = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDraft
)

var systemBits = []struct {
	name string
	bit  uint8
}{{`\Seen`, FlagSeen}, {`\Answered`, FlagAnswered}, {`\Flagged`, FlagFlagged}, {`\Draft`, FlagDraft}}

// FlagSet is the compact record of the flags a migrated message carries:
// a bitmask of \Seen \Answered \Flagged \Draft plus its keywords. Other
// system flags (\Deleted, \Recent, unknown ones) are not kept: they are
// never migrated. The zero FlagSet (Known false) means "not recorded".
type FlagSet struct {
	Known    bool
	System   uint8
	Keywords string // space-separated, sorted case-insensitively, deduplicated
}

// MakeFlagSet builds the FlagSet of a message's IMAP flags.
func MakeFlagSet(flags []string) FlagSet {
	fs := FlagSet{Known: true}
	var kw []string
	seen := map[string]bool{}
flags:
	for _, f := range flags {
		for _, sb := range systemBits {
			if strings.EqualFold(f, sb.name) {
				fs.System |= sb.bit
				continue flags
			}
		}
		lf := strings.ToLower(f)
		if f == "" || strings.HasPrefix(f, `\`) || strings.ContainsAny(f, " \x00") || seen[lf] {
			continue
		}
		seen[lf] = true
		kw = append(kw, f)
	}
	sort.Slice(kw, func(a, b int) bool { return strings.ToLower(kw[a]) < strings.ToLower(kw[b]) })
	fs.Keywords = strings.Join(kw, " ")
	return fs
}

// Flags returns the set as IMAP flag names (system flags first).
func (f FlagSet) Flags() []string {
	var out []string
	for _, sb := range systemBits {
		if f.System&sb.bit != 0 {
			out = append(out, sb.name)
		}
	}
	if f.Keywords != "" {
		out = append(out, strings.Split(f.Keywords, " ")...)
	}
	return out
}

// Equal reports whether two recorded sets hold the same flags (keywords
// compare case-insensitively, as IMAP does).
func (f FlagSet) Equal(g FlagSet) bool {
	return f.Known == g.Known && f.System == g.System && strings.EqualFold(f.Keywords, g.Keywords)
}

// encodeDone is the value of a done key: the destination id, then, when
// the flags are known, NUL, one byte of system flags and the keywords.
// Destination ids never contain NUL, and values written before flags were
// recorded are the bare id, so both read back.
func encodeDone(destID string, fs FlagSet) []byte {
	if !fs.Known {
		return []byte(destID)
	}
	v := make([]byte, 0, len(destID)+2+len(fs.Keywords))
	v = append(v, destID...)
	v = append(v, 0, fs.System)
	return append(v, fs.Keywords...)
}

func decodeDone(v []byte) (string, FlagSet) {
	i := bytes.IndexByte(v, 0)
	if i < 0 || i+1 >= len(v) {
		return string(v), FlagSet{}
	}
	return string(v[:i]), FlagSet{Known: true, System: v[i+1], Keywords: string(v[i+2:])}
}
