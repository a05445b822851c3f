package localefix

import (
	"os"
	"testing"
)

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		lcAll, lang, language string
		changed               bool
	}{
		{lang: "C.UTF-8", changed: true},
		{lang: "C.utf8", changed: true},
		{lcAll: "POSIX.UTF-8", lang: "de_DE.UTF-8", changed: true},
		{lang: "C"},     // go-locale handles plain C itself
		{lang: "POSIX"}, // and POSIX
		{lang: "de_DE.UTF-8"},
		{lang: "C.UTF-8", language: "fr"}, // the user's choice wins
		{lcAll: "en_GB.UTF-8", lang: "C.UTF-8"},
		{},
	} {
		t.Setenv("LC_ALL", tc.lcAll)
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		t.Setenv("LANGUAGE", tc.language)
		if got := Apply(); got != tc.changed {
			t.Errorf("%+v: Apply() = %v, want %v", tc, got, tc.changed)
		}
		want := tc.language
		if tc.changed {
			want = "en"
		}
		if got := os.Getenv("LANGUAGE"); got != want {
			t.Errorf("%+v: LANGUAGE = %q, want %q", tc, got, want)
		}
	}
}
