package project

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxNameRunes is the longest project name ValidateName accepts.
const maxNameRunes = 100

// CopyName is the name a copy of the project name gets when name is
// taken: "name (2)", or the next number not taken ("name (3)", …). A name
// that already ends in " (N)" counts on from N ("X (2)" → "X (3)", not
// "X (2) (2)"). taken reports whether a name is in use (the store compares
// names case-insensitively, so should taken). The base is shortened when
// the suffix would make the name longer than ValidateName allows.
func CopyName(name string, taken func(string) bool) string {
	base, n := splitCopyNumber(strings.TrimSpace(name))
	for n++; ; n++ {
		suffix := " (" + strconv.Itoa(n) + ")"
		b := base
		for utf8.RuneCountInString(b)+len(suffix) > maxNameRunes {
			_, size := utf8.DecodeLastRuneInString(b)
			b = strings.TrimRight(b[:len(b)-size], " ")
		}
		if c := b + suffix; !taken(c) {
			return c
		}
	}
}

// splitCopyNumber splits "X (N)" into "X" and N (N ≥ 2); any other name
// is itself and 1.
func splitCopyNumber(name string) (string, int) {
	if !strings.HasSuffix(name, ")") {
		return name, 1
	}
	open := strings.LastIndex(name, " (")
	if open <= 0 {
		return name, 1
	}
	n, err := strconv.Atoi(name[open+2 : len(name)-1])
	if err != nil || n < 2 || strconv.Itoa(n) != name[open+2:len(name)-1] {
		return name, 1
	}
	return name[:open], n
}
