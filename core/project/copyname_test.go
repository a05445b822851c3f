package project

import (
	"strings"
	"testing"
)

func TestCopyName(t *testing.T) {
	takenOf := func(names ...string) func(string) bool {
		return func(s string) bool {
			for _, n := range names {
				if strings.EqualFold(n, s) {
					return true
				}
			}
			return false
		}
	}
	long := strings.Repeat("é", 100)
	for _, c := range []struct {
		name  string
		taken []string
		want  string
	}{
		{"Acme", []string{"Acme"}, "Acme (2)"},
		{"Acme", []string{"Acme", "acme (2)"}, "Acme (3)"},
		{"Acme (2)", []string{"Acme", "Acme (2)"}, "Acme (3)"},
		{"Acme (9)", []string{"Acme (9)", "Acme (10)"}, "Acme (11)"},
		{"Acme (1)", []string{"Acme (1)"}, "Acme (1) (2)"},
		{"Acme (02)", []string{"Acme (02)"}, "Acme (02) (2)"},
		{"(2)", []string{"(2)"}, "(2) (2)"},
		{"  Acme  ", []string{"Acme"}, "Acme (2)"},
		{long, []string{long}, strings.Repeat("é", 96) + " (2)"},
	} {
		got := CopyName(c.name, takenOf(c.taken...))
		if got != c.want {
			t.Errorf("CopyName(%q, taken %q) = %q, want %q", c.name, c.taken, got, c.want)
		}
		if err := ValidateName(got); err != nil && !strings.HasPrefix(c.name, "(") {
			t.Errorf("CopyName(%q) = %q is not a valid name: %v", c.name, got, err)
		}
	}
}
