package project

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidNameMatchesTheRule checks validName against the rule it
// replaced, written as the regexp, on edge cases.
func TestValidNameMatchesTheRule(t *testing.T) {
	rule := regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._\-()&']{0,99}$`)
	cases := []string{
		"", "a", "A", "7", "é", "日本", "Ünïcødé Kunde", "Acme (2024) & Co's.", "a_b-c.d",
		" a", ".a", "-a", "'a", "(a)", "a\n", "a\tb", "a/b", "a\\b", "a:b", "a\x00b",
		"\xff", "a\xffb", "a\uFFFDb", "\uFFFD", "a ", "a  b", "٣", "Ⅻ", "a😀", "a\u00a0b",
		strings.Repeat("x", 100), strings.Repeat("x", 101), strings.Repeat("é", 100), strings.Repeat("é", 101),
		"a" + strings.Repeat(" ", 99), "a" + strings.Repeat(" ", 100),
	}
	for _, c := range cases {
		if got, want := validName(c), rule.MatchString(c); got != want {
			t.Errorf("validName(%q) = %v; the rule says %v", c, got, want)
		}
		if err := ValidateName(c); (err == nil) != rule.MatchString(c) {
			t.Errorf("ValidateName(%q) = %v", c, err)
		}
	}
}
