package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// Arrow joins a role folder to where it goes in PlanRow.RoleNote (a face
// that cannot draw it replaces it).
const Arrow = "→"

// MaxComponentBytes is the longest destination folder name component, in
// UTF-8 bytes (Exchange allows 255 characters; Dovecot 255 bytes).
const MaxComponentBytes = 255

// slashHold stands for a "/" inside a source component while rules run.
const slashHold = '\uF02F'

// Rule is one compiled FolderMapping rule.
type Rule struct {
	Text        string // the rule as written
	Re          *regexp.Regexp
	Replacement string
	FromUser    bool // a per-user support option rule
}

// Rules is everything that decides a user's destination tree.
type Rules struct {
	Mapping    []Rule
	Filter     *regexp.Regexp // nil = no filter
	FilterText string
	AllowQuote bool
	// CaseSensitive: the destination tells folder names apart by case, so
	// names that differ only in case need no suffix (IMAP servers such as
	// Dovecot). False (the default) is Exchange's behaviour.
	CaseSensitive bool
	// IncludeShared keeps folders of the source's shared and other users'
	// namespaces (project option IncludeSharedFolders); by default they
	// are skipped.
	IncludeShared bool
	// DestType is the destination's type (set by ForDest); it names where
	// role folders go in PlanRow.RoleNote.
	DestType project.EndpointType
}

// ForDest adapts rules to a destination type. For an IMAP destination
// folder names keep their quotes (IMAP quotes them on the wire; the
// MigrationWiz AllowQuoteInFolder rule exists for Exchange) and names that
// differ only in case stay apart; Exchange (EWS, Graph) and unknown types
// keep the strict defaults.
func (r Rules) ForDest(t project.EndpointType) Rules {
	r.DestType = t
	if t.IsIMAP() {
		r.AllowQuote = true
		r.CaseSensitive = true
	}
	return r
}

// Compile builds the rules of one user from the project options and the
// user's parsed support options (user rules first, then project rules; the
// user's FolderFilter replaces the project's).
func Compile(opts project.Options, so project.SupportOptions) (Rules, error) {
	var r Rules
	add := func(texts []string, fromUser bool) error {
		for _, t := range texts {
			re, repl, err := project.ParseMappingRule(t)
			if err != nil {
				return fmt.Errorf("folder mapping: %w", err)
			}
			r.Mapping = append(r.Mapping, Rule{Text: t, Re: re, Replacement: repl, FromUser: fromUser})
		}
		return nil
	}
	if err := add(so.FolderMapping, true); err != nil {
		return r, err
	}
	if err := add(opts.FolderMapping, false); err != nil {
		return r, err
	}
	filter := opts.FolderFilter
	if so.FolderFilter != "" {
		filter = so.FolderFilter
	}
	if filter != "" {
		re, err := regexp.Compile("(?i)" + filter)
		if err != nil {
			return r, fmt.Errorf("folder filter %q: %w", filter, err)
		}
		r.Filter, r.FilterText = re, filter
	}
	r.AllowQuote = so.AllowQuoteInFolder
	r.IncludeShared = opts.IncludeSharedFolders
	return r, nil
}

// CompileFor compiles the rules of user u of project p for p's
// destination type (see ForDest). This is what the engine uses.
func CompileFor(p project.Project, u project.User) (Rules, error) {
	r, err := CompileUser(p.Options, u)
	if err != nil {
		return r, err
	}
	return r.ForDest(p.Dest.Type), nil
}

// CompileUser is Compile with the user's support option lines parsed.
func CompileUser(opts project.Options, u project.User) (Rules, error) {
	so, err := project.ParseSupportOptions(u.SupportOptions)
	if err != nil {
		return Rules{}, fmt.Errorf("user %s: %w", u.ID(), err)
	}
	return Compile(opts, so)
}

// PlanRow is the fate of one source folder.
type PlanRow struct {
	Source  string   // the source folder name, as "/"-joined components
	Dest    []string // destination path components; nil when skipped
	Skipped bool
	Reason  string // why skipped, or which rule/sanitising/collision changed the name
	Folder  mailbox.Folder
	// Role is the role the destination gives the folder: the source
	// folder's role, unless a mapping rule renamed it (explicit rules win).
	Role string
	// RoleNote says where a role folder (or a subfolder of one) goes and
	// why, e.g. `\Sent on the source → Sent Items`.
	RoleNote string
}

// DestString joins Dest with "/" for display.
func (r PlanRow) DestString() string { return strings.Join(r.Dest, "/") }

// SourcePath joins a folder's components with "/", holding any "/" inside a
// component as U+F02F (see the package comment).
func SourcePath(f mailbox.Folder) string {
	comps := f.Path
	if len(comps) == 0 {
		comps = []string{f.Name}
	}
	held := make([]string, len(comps))
	for i, c := range comps {
		held[i] = strings.ReplaceAll(c, "/", string(slashHold))
	}
	return strings.Join(held, "/")
}

func display(held string) string { return strings.ReplaceAll(held, string(slashHold), "/") }

// mapOne applies filter and rules; it returns the mapped (unsanitised)
// components.
func (r Rules) mapOne(f mailbox.Folder) (comps []string, skipped bool, reason string) {
	p := SourcePath(f)
	if f.Namespace != "" && !r.IncludeShared {
		return nil, true, fmt.Sprintf("in the source's %s namespace (the project option \"include shared folders\" migrates it)", f.Namespace)
	}
	if r.Filter != nil && r.Filter.MatchString(display(p)) {
		return nil, true, fmt.Sprintf("matches folder filter %q", r.FilterText)
	}
	out := p
	for i, rule := range r.Mapping {
		if rule.Re.MatchString(p) {
			out = rule.Re.ReplaceAllString(p, rule.Replacement)
			who := "project"
			if rule.FromUser {
				who = "user"
			}
			reason = fmt.Sprintf("%s rule %d %q", who, i+1, rule.Text)
			break
		}
	}
	ruled := reason != ""
	for _, c := range strings.Split(out, "/") {
		// A rule's output loses its empty components ("^INBOX->" leaves a
		// leading "/"); an empty source component is kept (sanitised to "_")
		// so it cannot merge with a sibling.
		if c != "" || !ruled {
			comps = append(comps, strings.ReplaceAll(c, string(slashHold), "/"))
		}
	}
	if len(comps) == 0 {
		return nil, true, "mapped to an empty path by " + reason
	}
	return comps, false, reason
}

// Sanitize cleans one destination name component (see the package comment).
func Sanitize(c string, allowQuote bool) string {
	c = strings.ToValidUTF8(c, "")
	c = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == slashHold {
			return -1
		}
		if r == '"' && !allowQuote {
			return '\''
		}
		return r
	}, c)
	c = strings.TrimSpace(c)
	switch c {
	case "":
		c = "_"
	case ".", "..":
		c = "_" + c
	}
	return truncate(c, MaxComponentBytes)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimRightFunc(s, unicode.IsSpace)
}

var folder = cases.Fold()

func foldKey(s string) string { return folder.String(s) }

// nameKey is the key under which the destination compares names.
func (r Rules) nameKey(s string) string {
	if r.CaseSensitive {
		return s
	}
	return foldKey(s)
}

// Plan maps every source folder to its destination path. The result is in
// source path order and deterministic for a given set of folders, whatever
// their input order. Source folders with the same name are listed once.
func Plan(folders []mailbox.Folder, r Rules) []PlanRow {
	fs := make([]mailbox.Folder, 0, len(folders))
	seen := make(map[string]bool, len(folders))
	for _, f := range folders {
		k := SourcePath(f)
		if !seen[k] {
			seen[k] = true
			fs = append(fs, f)
		}
	}
	sort.Slice(fs, func(i, j int) bool { return lessPath(pathOf(fs[i]), pathOf(fs[j])) })

	root := newNode("")
	rows := make([]PlanRow, 0, len(fs))
	roleParents := map[string]PlanRow{} // held source path → row of a role folder
	for _, f := range fs {
		row := PlanRow{Source: display(SourcePath(f)), Folder: f}
		comps, skipped, reason := r.mapOne(f)
		row.Reason = reason
		if skipped {
			row.Skipped = true
			rows = append(rows, row)
			continue
		}
		cur := root
		var notes []string
		dest := make([]string, len(comps))
		for i, raw := range comps {
			// Identity of this component: the mapped names of the whole prefix,
			// so children of renamed parents follow their parent.
			if child := cur.byIdent[raw]; child != nil {
				cur = child
				dest[i] = child.name
				continue
			}
			clean := Sanitize(raw, r.AllowQuote)
			if clean != raw {
				notes = append(notes, fmt.Sprintf("%q sanitised to %q", raw, clean))
			}
			name := clean
			for n := 2; cur.byFold[r.nameKey(name)] != nil; n++ {
				suffix := " (" + strconv.Itoa(n) + ")"
				name = truncate(clean, MaxComponentBytes-len(suffix)) + suffix
			}
			if name != clean {
				why := "another folder has the same name"
				if !r.CaseSensitive {
					why += " ignoring case"
				}
				notes = append(notes, fmt.Sprintf("%q renamed to %q: %s", clean, name, why))
			}
			nd := newNode(name)
			cur.byIdent[raw] = nd
			cur.byFold[r.nameKey(name)] = nd
			cur = nd
			dest[i] = name
		}
		row.Dest = dest
		r.roleOf(&row, reason != "", roleParents)
		if len(notes) > 0 {
			if row.Reason != "" {
				notes = append([]string{row.Reason}, notes...)
			}
			row.Reason = strings.Join(notes, "; ")
		}
		rows = append(rows, row)
	}
	return rows
}

// roleOf sets the row's Role and RoleNote: a folder with a role keeps it
// unless a rule renamed it; a subfolder of a role folder follows it.
func (r Rules) roleOf(row *PlanRow, ruled bool, parents map[string]PlanRow) {
	f := row.Folder
	if ruled && len(row.Dest) == 1 {
		// A rule that names the role's own folder ("Sent Items") keeps it.
		if role, _ := mailbox.RoleForName(row.Dest[0]); role != "" && role == f.Role {
			ruled = false
		}
	}
	if f.Role != "" && !ruled {
		row.Role = f.Role
		if f.Role != mailbox.RoleInbox {
			from := f.RoleFrom
			if from == "" {
				from = f.Role + " folder"
			}
			row.RoleNote = from + " " + Arrow + " " + RoleTarget(r.DestType, f.Role)
			parents[SourcePath(f)] = *row
		}
		return
	}
	if ruled {
		return
	}
	p := SourcePath(f)
	for i := strings.LastIndex(p, "/"); i > 0; i = strings.LastIndex(p[:i], "/") {
		if parent, ok := parents[p[:i]]; ok {
			row.RoleNote = fmt.Sprintf("inside %q %s %s", parent.Source, Arrow, RoleTarget(r.DestType, parent.Role))
			return
		}
	}
}

// RoleTarget names the destination folder of a role on a destination
// type: Exchange's well-known folders (EWS, Graph), an IMAP server's
// folder of that role.
func RoleTarget(t project.EndpointType, role string) string {
	if t.IsIMAP() || t == "" {
		return "the destination's " + role + " folder (SPECIAL-USE \\" + role + ", else one named by convention, else this name)"
	}
	switch role {
	case mailbox.RoleSent:
		return "Sent Items"
	case mailbox.RoleTrash:
		return "Deleted Items"
	case mailbox.RoleJunk:
		return "Junk Email"
	}
	return role // Inbox, Drafts, Archive
}

// node is a destination folder being planned. byIdent finds a child by
// the mapped (unsanitised) name that created it, so that sub-folders of a
// renamed parent follow it; byFold holds the case-folded resolved names.
type node struct {
	name    string
	byIdent map[string]*node
	byFold  map[string]*node
}

func newNode(name string) *node {
	return &node{name: name, byIdent: map[string]*node{}, byFold: map[string]*node{}}
}

func pathOf(f mailbox.Folder) []string {
	if len(f.Path) == 0 {
		return []string{f.Name}
	}
	return f.Path
}

func lessPath(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
