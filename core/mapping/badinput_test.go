package mapping

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// hostileNames are folder name components real servers hold.
var hostileNames = []string{
	`Say "Hi"`, `"`, `""`, `back\slash`, `\`, "a/b", "/", "//", ".", "..", "...", "dot.ted", "trailing.",
	"tab\there", "bell\x07", "new\nline", "\r\n", "\x00nul", "\x7f", " ", "  padded  ", "",
	strings.Repeat("L", 500), strings.Repeat("é", 300), strings.Repeat("日", 200),
	"CaseTwin", "casetwin", "CASETWIN", "ǅ", "ǆ", "Ǆ", "Straße", "STRASSE",
	"\xff\xfe invalid utf-8", "\uf02f held slash", "\u202e RTL override", "Ünïcødé & <xml>",
}

// checkPlan fails on any destination path that a server could not create
// or that would merge two different source folders.
func checkPlan(t *testing.T, dest project.EndpointType, folders []mailbox.Folder, rows []PlanRow) {
	t.Helper()
	if len(rows) != len(folders) {
		t.Fatalf("%s: %d rows for %d folders", dest, len(rows), len(folders))
	}
	seen := map[string]string{}
	for _, r := range rows {
		if r.Skipped {
			if r.Dest != nil || r.Reason == "" {
				t.Errorf("%s: skipped row %q without a reason or with a destination %q", dest, r.Source, r.Dest)
			}
			continue
		}
		if len(r.Dest) == 0 {
			t.Errorf("%s: %q maps to an empty path", dest, r.Source)
			continue
		}
		for _, c := range r.Dest {
			switch {
			case c == "" || c == "." || c == "..":
				t.Errorf("%s: %q → component %q", dest, r.Source, c)
			case !utf8.ValidString(c):
				t.Errorf("%s: %q → invalid UTF-8 %q", dest, r.Source, c)
			case len(c) > MaxComponentBytes:
				t.Errorf("%s: %q → a %d-byte component", dest, r.Source, len(c))
			case strings.ContainsFunc(c, func(r rune) bool { return unicode.IsControl(r) || r == slashHold }):
				t.Errorf("%s: %q → control character in %q", dest, r.Source, c)
			case c != strings.TrimSpace(c):
				t.Errorf("%s: %q → surrounding space in %q", dest, r.Source, c)
			case dest == project.TypeEWS && strings.Contains(c, `"`):
				t.Errorf("%s: %q → quote in %q", dest, r.Source, c)
			}
		}
		key := strings.Join(r.Dest, "\x00")
		if dest == project.TypeEWS {
			key = foldKey(key)
		}
		if other, ok := seen[key]; ok && other != r.Source {
			t.Errorf("%s: %q and %q both map to %q", dest, other, r.Source, r.Dest)
		}
		seen[key] = r.Source
	}
}

func plan(t *testing.T, dest project.EndpointType, folders []mailbox.Folder) []PlanRow {
	t.Helper()
	r, err := Compile(project.DefaultOptions(), project.SupportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Plan(folders, r.ForDest(dest))
}

// Every hostile name, alone, under a parent, as a parent, and next to its
// case twins, through Plan for an IMAP and an Exchange destination: a
// creatable, distinct destination path for each source folder (or a skip
// with a reason), never a panic.
func TestPlanHostileFolderNames(t *testing.T) {
	var folders []mailbox.Folder
	for _, n := range hostileNames {
		folders = append(folders,
			mailbox.Folder{Name: n, Path: []string{n}, Delim: '.'},
			mailbox.Folder{Name: "Parent." + n, Path: []string{"Parent", n}, Delim: '.'},
			mailbox.Folder{Name: n + ".Child", Path: []string{n, "Child"}, Delim: '.'},
		)
	}
	folders = append(folders, mailbox.Folder{Name: "Parent", Path: []string{"Parent"}, Delim: '.'})
	cases := 0
	for _, dest := range []project.EndpointType{project.TypeIMAP, project.TypeEWS, project.TypeGraph} {
		checkPlan(t, dest, folders, plan(t, dest, folders))
		cases += len(folders)
	}
	t.Logf("%d folder × destination cases", cases)
}

// FuzzPlanFolderNames: any three names, with case variants and nesting,
// give a valid plan.
func FuzzPlanFolderNames(f *testing.F) {
	for i := 0; i+2 < len(hostileNames); i += 3 {
		f.Add(hostileNames[i], hostileNames[i+1], hostileNames[i+2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		folders := []mailbox.Folder{
			{Name: a, Path: []string{a}},
			{Name: strings.ToUpper(a), Path: []string{strings.ToUpper(a)}},
			{Name: a + "/" + b, Path: []string{a, b}},
			{Name: c, Path: []string{c}},
			{Name: b, Path: []string{b}},
		}
		// Identical source paths are one folder: the fuzzer may produce them.
		uniq := folders[:0]
		have := map[string]bool{}
		for _, fo := range folders {
			k := strings.Join(fo.Path, "\x00")
			if !have[k] {
				have[k] = true
				uniq = append(uniq, fo)
			}
		}
		for _, dest := range []project.EndpointType{project.TypeIMAP, project.TypeEWS} {
			checkPlan(t, dest, uniq, plan(t, dest, uniq))
		}
	})
}
