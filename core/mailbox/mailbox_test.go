package mailbox

import "testing"

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
