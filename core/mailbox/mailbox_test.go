package mailbox

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestContentKeyNormalisesFolding(t *testing.T) {
	a := MakeContentKey("<id@x>", "Mon, 1 Jan 2024 10:00:00 +0000", "Ann <a@x>", "Hello\r\n world", 1234)
	b := MakeContentKey(" <id@x>", "Mon, 1 Jan 2024  10:00:00 +0000", "Ann <a@x>", "Hello world", 1234)
	if a != b {
		t.Fatalf("folded and unfolded headers give different keys: %s %s", a, b)
	}
	if len(a) != 2+32 || a[:2] != "c:" {
		t.Fatalf("key %q has the wrong shape", a)
	}
	// Every field and the size take part: no key from Message-ID alone.
	for i, k := range []ContentKey{
		MakeContentKey("<other@x>", "Mon, 1 Jan 2024 10:00:00 +0000", "Ann <a@x>", "Hello world", 1234),
		MakeContentKey("<id@x>", "Tue, 2 Jan 2024 10:00:00 +0000", "Ann <a@x>", "Hello world", 1234),
		MakeContentKey("<id@x>", "Mon, 1 Jan 2024 10:00:00 +0000", "Bob <b@x>", "Hello world", 1234),
		MakeContentKey("<id@x>", "Mon, 1 Jan 2024 10:00:00 +0000", "Ann <a@x>", "Bye", 1234),
		MakeContentKey("<id@x>", "Mon, 1 Jan 2024 10:00:00 +0000", "Ann <a@x>", "Hello world", 1235),
	} {
		if k == a {
			t.Errorf("variant %d collides with the original key", i)
		}
	}
	// Field boundaries matter: shifting text between fields changes the key.
	if MakeContentKey("ab", "c", "", "", 1) == MakeContentKey("a", "bc", "", "", 1) {
		t.Error("field boundary ignored")
	}
}

func TestSourceKeyAndFlags(t *testing.T) {
	if k := SourceKey(42, 7); k != "u:42:7" {
		t.Fatalf("SourceKey = %q", k)
	}
	m := Meta{Flags: []string{`\Seen`, "$Label1"}}
	if !m.HasFlag(`\seen`) || !m.HasFlag("$label1") || m.HasFlag(`\Flagged`) {
		t.Fatal("HasFlag is wrong")
	}
}

// NormalizeHeader's allocation-free path returns what the general one
// (unfold, split on Unicode space, join with one space) returns, so that
// content keys in existing journals stay the same.
func TestNormalizeHeaderFastPathAgrees(t *testing.T) {
	general := func(s string) string { return strings.Join(strings.Fields(lineBreaks.Replace(s)), " ") }
	cases := []string{"", " ", "\t", "a", " a", "a ", "\ta b\t", "a  b", "a\tb", "a\r\n b", "a\n\tb", "Hello world",
		" <id@x>", "Mon, 1 Jan 2024  10:00:00 +0000", "é", " Café ", "a\u00a0b", "x\u0085", "a\x00b", "a\x7fb", "~!@#$%^&*()_+{}|:\"<>?",
		"=?UTF-8?B?w6k=?=", " Ann <a@x> ", "a \r\n", "\v", "a\fb"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab \t\r\n\x00\x7f\xc2\xa0\x85é")
	for range 5000 {
		b := make([]byte, rng.IntN(8))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := NormalizeHeader(s), general(s); got != want {
			t.Fatalf("NormalizeHeader(%q) = %q, want %q", s, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = NormalizeHeader(" Hello world ") }); n != 0 {
		t.Errorf("a header that needs nothing but trimming costs %v allocations", n)
	}
}
