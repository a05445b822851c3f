package corpus

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestGenerate(t *testing.T) {
	spec := Spec{Messages: 120, Seed: 42, MaxSize: 32 << 10, Edge: true}
	a, b := Generate(spec), Generate(spec)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same spec, different corpus")
	}
	spec.Seed = 43
	if c := Generate(spec); reflect.DeepEqual(a.Messages, c.Messages) {
		t.Fatal("different seeds, same corpus")
	}
	if n := len(Generate(Spec{Messages: 120, Seed: 42}).Messages); n != 120 {
		t.Fatalf("%d messages without Edge, want 120", n)
	}

	flags := map[imap.Flag]int{}
	ids := map[string]int{}
	years := map[int]bool{}
	noID, exactDup := 0, 0
	raws := map[string]bool{}
	for _, m := range a.Messages {
		for _, f := range m.Flags {
			flags[f]++
		}
		if m.MessageID == "" {
			noID++
		} else {
			ids[m.MessageID]++
		}
		years[m.InternalDate.Year()] = true
		if raws[string(m.Raw)] {
			exactDup++
		}
		raws[string(m.Raw)] = true
		if m.InternalDate.Nanosecond() != 0 {
			t.Errorf("internal date %v has sub-second precision", m.InternalDate)
		}
		if len(m.Raw) > spec.MaxSize+4096 {
			t.Errorf("message %q is %d bytes, MaxSize %d", m.Subject, len(m.Raw), spec.MaxSize)
		}
	}
	for _, f := range []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, imap.FlagDraft, "$Label1"} {
		if flags[f] == 0 {
			t.Errorf("no message has flag %s", f)
		}
	}
	dupIDs := 0
	for _, n := range ids {
		if n > 1 {
			dupIDs++
		}
	}
	if noID == 0 || dupIDs == 0 || exactDup == 0 {
		t.Errorf("missing hard cases: %d without Message-ID, %d duplicated Message-IDs, %d exact duplicates", noID, dupIDs, exactDup)
	}
	if len(years) < 4 {
		t.Errorf("internal dates span only %d years", len(years))
	}
	for _, f := range a.Folders {
		if strings.ContainsAny(strings.Join(f.Path, ""), "./") {
			t.Errorf("folder %q has a separator character inside a name", f.Path)
		}
	}
	if len(a.InFolder("Empty")) != 0 || len(a.InFolder("Projects", "2024", "Q1")) == 0 || len(a.InFolder(`Say "Hi"`)) == 0 {
		t.Error("folder distribution is off")
	}
}

func BenchmarkGenerate(b *testing.B) {
	spec := Spec{Messages: 100, Seed: 1, MaxSize: 32 << 10, Edge: true}
	b.SetBytes(Generate(spec).Bytes())
	for i := 0; i < b.N; i++ {
		Generate(spec)
	}
}
