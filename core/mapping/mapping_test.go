package mapping

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

func fld(delim rune, name string) mailbox.Folder {
	return mailbox.Folder{Name: name, Delim: delim, Path: strings.Split(name, string(delim))}
}

func planOf(t *testing.T, opts project.Options, so project.SupportOptions, folders ...mailbox.Folder) map[string]PlanRow {
	t.Helper()
	r, err := Compile(opts, so)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]PlanRow{}
	for _, row := range Plan(folders, r) {
		out[row.Source] = row
	}
	return out
}

func TestPlanTable(t *testing.T) {
	type want struct {
		dest    string // "/"-joined; "" = skipped
		reason  string // substring of Reason
		ncomps  int
		skipped bool
	}
	tests := []struct {
		name    string
		opts    project.Options
		so      project.SupportOptions
		folders []mailbox.Folder
		want    map[string]want
	}{
		{
			name:    "dot separator translated",
			folders: []mailbox.Folder{fld('.', "INBOX"), fld('.', "INBOX.Receipts"), fld('.', "Projects.2024.Q1")},
			want: map[string]want{
				"INBOX":            {dest: "INBOX", ncomps: 1},
				"INBOX/Receipts":   {dest: "INBOX/Receipts", ncomps: 2},
				"Projects/2024/Q1": {dest: "Projects/2024/Q1", ncomps: 3},
			},
		},
		{
			name:    "slash inside a dot-separated component stays one component",
			folders: []mailbox.Folder{fld('.', "A/B.C"), fld('.', "A.B")},
			opts:    project.Options{FolderMapping: []string{"^A/->X/"}},
			want: map[string]want{
				"A/B/C": {dest: "A/B/C", ncomps: 2}, // components "A/B" and "C"; rule does not match "A<held>B"
				"A/B":   {dest: "X/B", ncomps: 2, reason: "project rule 1"},
			},
		},
		{
			name:    "INBOX prefix rule",
			opts:    project.Options{FolderMapping: []string{`FolderMapping="^INBOX/->"`}},
			folders: []mailbox.Folder{fld('/', "INBOX"), fld('/', "INBOX/Sub"), fld('/', "INBOX/Sub/Deep")},
			want: map[string]want{
				"INBOX":          {dest: "INBOX", ncomps: 1},
				"INBOX/Sub":      {dest: "Sub", ncomps: 1, reason: "project rule 1"},
				"INBOX/Sub/Deep": {dest: "Sub/Deep", ncomps: 2},
			},
		},
		{
			name: "user rule first, first match wins",
			opts: project.Options{FolderMapping: []string{"^Old/->Project/"}},
			so:   project.SupportOptions{FolderMapping: []string{"^Old/(.*)->Archive/$1"}},
			folders: []mailbox.Folder{
				fld('/', "Old/a"), fld('/', "Other"),
			},
			want: map[string]want{
				"Old/a": {dest: "Archive/a", ncomps: 2, reason: "user rule 1"},
				"Other": {dest: "Other", ncomps: 1},
			},
		},
		{
			name:    "filter case-insensitive, user filter replaces project's",
			opts:    project.Options{FolderFilter: "^Trash"},
			so:      project.SupportOptions{FolderFilter: "^junk$|^spam/"},
			folders: []mailbox.Folder{fld('/', "Junk"), fld('/', "SPAM/x"), fld('/', "Trash")},
			want: map[string]want{
				"Junk":   {skipped: true, reason: "folder filter"},
				"SPAM/x": {skipped: true, reason: "folder filter"},
				"Trash":  {dest: "Trash", ncomps: 1},
			},
		},
		{
			name:    "rule to empty path skips",
			opts:    project.Options{FolderMapping: []string{"^Drop$->"}},
			folders: []mailbox.Folder{fld('/', "Drop")},
			want:    map[string]want{"Drop": {skipped: true, reason: "empty path"}},
		},
		{
			name:    "quotes become apostrophes by default",
			folders: []mailbox.Folder{fld('.', `Say "Hi"`)},
			want:    map[string]want{`Say "Hi"`: {dest: `Say 'Hi'`, ncomps: 1, reason: "sanitised"}},
		},
		{
			name:    "AllowQuoteInFolder keeps quotes",
			so:      project.SupportOptions{AllowQuoteInFolder: true},
			folders: []mailbox.Folder{fld('.', `Say "Hi"`)},
			want:    map[string]want{`Say "Hi"`: {dest: `Say "Hi"`, ncomps: 1}},
		},
		{
			name:    "control characters, spaces, reserved names",
			folders: []mailbox.Folder{fld('/', " a\x01b\t "), fld('/', ".."), fld('/', "x/."), fld('/', "\x02")},
			want: map[string]want{
				" a\x01b\t ": {dest: "ab", ncomps: 1},
				"..":         {dest: "_..", ncomps: 1},
				"x/.":        {dest: "x/_.", ncomps: 2},
				"\x02":       {dest: "_", ncomps: 1},
			},
		},
		{
			name:    "case-only collision gets a suffix, children follow",
			folders: []mailbox.Folder{fld('.', "archive.2020"), fld('.', "Archive"), fld('.', "archive"), fld('.', "Archive.2020")},
			want: map[string]want{
				"Archive":      {dest: "Archive", ncomps: 1},
				"Archive/2020": {dest: "Archive/2020", ncomps: 2},
				"archive":      {dest: "archive (2)", ncomps: 1, reason: "ignoring case"},
				"archive/2020": {dest: "archive (2)/2020", ncomps: 2},
			},
		},
		{
			name:    "sanitising collision gets a suffix",
			folders: []mailbox.Folder{fld('/', `a'`), fld('/', `a"`)},
			want: map[string]want{
				`a"`: {dest: `a'`, ncomps: 1},
				`a'`: {dest: `a' (2)`, ncomps: 1},
			},
		},
		{
			name:    "rules merging two folders into one is kept",
			opts:    project.Options{FolderMapping: []string{"^Sent Items$->Sent"}},
			folders: []mailbox.Folder{fld('/', "Sent"), fld('/', "Sent Items")},
			want: map[string]want{
				"Sent":       {dest: "Sent", ncomps: 1},
				"Sent Items": {dest: "Sent", ncomps: 1},
			},
		},
		{
			name:    "UTF-8 kept",
			folders: []mailbox.Folder{fld('.', "Café Données"), fld('.', "日本語 メール")},
			want: map[string]want{
				"Café Données": {dest: "Café Données", ncomps: 1},
				"日本語 メール":      {dest: "日本語 メール", ncomps: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planOf(t, tt.opts, tt.so, tt.folders...)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows, want %d: %+v", len(got), len(tt.want), got)
			}
			for src, w := range tt.want {
				row, ok := got[src]
				if !ok {
					t.Fatalf("no row for %q; rows %+v", src, got)
				}
				if row.Skipped != w.skipped {
					t.Errorf("%q skipped=%v want %v (%s)", src, row.Skipped, w.skipped, row.Reason)
				}
				if !w.skipped {
					if row.DestString() != w.dest || len(row.Dest) != w.ncomps {
						t.Errorf("%q -> %q (%d comps) want %q (%d)", src, row.Dest, len(row.Dest), w.dest, w.ncomps)
					}
				}
				if w.reason != "" && !strings.Contains(row.Reason, w.reason) {
					t.Errorf("%q reason %q lacks %q", src, row.Reason, w.reason)
				}
			}
		})
	}
}

func TestLongNameTruncatedAtRuneBoundary(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	got := planOf(t, project.Options{}, project.SupportOptions{}, fld('/', long), fld('/', strings.ToUpper(long)))
	a, b := got[long], got[strings.ToUpper(long)]
	for _, r := range []PlanRow{a, b} {
		if len(r.Dest[0]) > MaxComponentBytes || !utf8.ValidString(r.Dest[0]) {
			t.Fatalf("bad component %d bytes valid=%v", len(r.Dest[0]), utf8.ValidString(r.Dest[0]))
		}
	}
	if foldKey(a.Dest[0]) == foldKey(b.Dest[0]) {
		t.Fatalf("collision not resolved: %q %q", a.Dest[0], b.Dest[0])
	}
}

func TestPlanDeterministicWhateverOrder(t *testing.T) {
	fs := []mailbox.Folder{fld('.', "b"), fld('.', "B"), fld('.', "a.x"), fld('.', "A.x"), fld('.', "a")}
	r, _ := Compile(project.Options{}, project.SupportOptions{})
	first := Plan(fs, r)
	rev := append([]mailbox.Folder(nil), fs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if second := Plan(rev, r); !reflect.DeepEqual(first, second) {
		t.Fatalf("order-dependent:\n%+v\n%+v", first, second)
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := Compile(project.Options{FolderMapping: []string{"(->x"}}, project.SupportOptions{}); err == nil {
		t.Fatal("bad regex accepted")
	}
	if _, err := Compile(project.Options{FolderFilter: "("}, project.SupportOptions{}); err == nil {
		t.Fatal("bad filter accepted")
	}
	if _, err := CompileUser(project.Options{}, project.User{SupportOptions: []string{"Bogus=1"}}); err == nil {
		t.Fatal("unknown support option accepted")
	}
}

func FuzzPlan(f *testing.F) {
	f.Add("INBOX\nINBOX.a\nArchive\narchive\nSay \"Hi\"", byte('.'), false, false)
	f.Add("a/b\nA/B\na\x01\n..\n \n", byte('/'), true, true)
	f.Fuzz(func(t *testing.T, names string, delim byte, allowQuote, caseSensitive bool) {
		if delim != '.' && delim != '/' {
			delim = '.'
		}
		var fs []mailbox.Folder
		for _, n := range strings.Split(names, "\n") {
			if n == "" {
				continue
			}
			fs = append(fs, fld(rune(delim), n))
		}
		r := Rules{AllowQuote: allowQuote, CaseSensitive: caseSensitive}
		a, b := Plan(fs, r), Plan(fs, r)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("not deterministic")
		}
		seen := map[string]string{}
		for _, row := range a {
			if row.Skipped {
				continue
			}
			for _, c := range row.Dest {
				if c == "" || len(c) > MaxComponentBytes || !utf8.ValidString(c) || strings.ContainsAny(c, "\x00\r\n") {
					t.Fatalf("bad component %q from %q", c, row.Source)
				}
				if !allowQuote && strings.Contains(c, `"`) {
					t.Fatalf("quote kept in %q", c)
				}
			}
			k := r.nameKey(strings.Join(row.Dest, "\x00"))
			if prev, ok := seen[k]; ok {
				t.Fatalf("%q and %q both map to %q", prev, row.Source, row.Dest)
			}
			seen[k] = row.Source
		}
	})
}

func TestForIMAPDestination(t *testing.T) {
	r, _ := Compile(project.Options{}, project.SupportOptions{})
	r = r.ForDest(project.TypeIMAP)
	got := map[string]string{}
	for _, row := range Plan([]mailbox.Folder{fld('.', `Say "Hi"`), fld('.', "Archive"), fld('.', "archive"), fld('/', "a\x01"), fld('/', "a")}, r) {
		got[row.Source] = row.DestString()
	}
	want := map[string]string{`Say "Hi"`: `Say "Hi"`, "Archive": "Archive", "archive": "archive", "a": "a", "a\x01": "a (2)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	ews, _ := Compile(project.Options{}, project.SupportOptions{})
	if ews.ForDest(project.TypeEWS).CaseSensitive || ews.ForDest(project.TypeGraph).AllowQuote {
		t.Fatal("Exchange rules relaxed")
	}
}

func TestPlanNamespacesAndRoles(t *testing.T) {
	f := func(role, from, ns string, path ...string) mailbox.Folder {
		return mailbox.Folder{Name: "INBOX." + strings.Join(path, "."), Path: path, Delim: '.', Role: role, RoleFrom: from, Namespace: ns}
	}
	folders := []mailbox.Folder{
		{Name: "INBOX", Path: []string{"INBOX"}, Role: mailbox.RoleInbox},
		f(mailbox.RoleSent, `\Sent on the source`, "", "Sent Messages"),
		f("", "", "", "Sent Messages", "2020"),
		f(mailbox.RoleTrash, `named "Trash"`, "", "Trash"),
		f(mailbox.RoleJunk, `\Junk on the source`, "", "Junk"),
		f("", "", "shared", "Public", "Team"),
	}
	opts := project.DefaultOptions()
	opts.FolderMapping = []string{"^Junk$->Old Spam"}
	r, err := Compile(opts, project.SupportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := func(rows []PlanRow) map[string]PlanRow {
		m := map[string]PlanRow{}
		for _, row := range rows {
			m[row.Source] = row
		}
		return m
	}
	rows := byName(Plan(folders, r.ForDest(project.TypeEWS)))
	if row := rows["Sent Messages"]; row.Role != mailbox.RoleSent || row.RoleNote != `\Sent on the source → Sent Items` {
		t.Errorf("Sent Messages: %+v", row)
	}
	if row := rows["Sent Messages/2020"]; row.Role != "" || !strings.Contains(row.RoleNote, `inside "Sent Messages" → Sent Items`) {
		t.Errorf("subfolder: %+v", row)
	}
	if row := rows["Trash"]; row.RoleNote != `named "Trash" → Deleted Items` {
		t.Errorf("Trash: %+v", row)
	}
	// The explicit rule wins over the role.
	if row := rows["Junk"]; row.Role != "" || row.RoleNote != "" || row.DestString() != "Old Spam" {
		t.Errorf("Junk with a rule: %+v", row)
	}
	if row := rows["Public/Team"]; !row.Skipped || !strings.Contains(row.Reason, "shared namespace") {
		t.Errorf("shared folder: %+v", row)
	}
	if row := rows["INBOX"]; row.Role != mailbox.RoleInbox || row.RoleNote != "" {
		t.Errorf("INBOX: %+v", row)
	}
	r.IncludeShared = true
	rows = byName(Plan(folders, r.ForDest(project.TypeIMAP)))
	if row := rows["Public/Team"]; row.Skipped || row.DestString() != "Public/Team" {
		t.Errorf("shared folder included: %+v", row)
	}
	if row := rows["Sent Messages"]; !strings.Contains(row.RoleNote, `the destination's Sent folder`) {
		t.Errorf("IMAP role note: %+v", row)
	}
}
