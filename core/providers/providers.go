package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/assets"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
)

// FileName is the name of the user catalog file inside the config dir.
const FileName = "providers.json"

// Origin tells where a catalog item comes from.
type Origin string

// Origins of catalog items.
const (
	Builtin  Origin = "builtin"  // the embedded catalog
	User     Origin = "user"     // added by the user
	Override Origin = "override" // a user entry replacing an embedded one
)

// Entry is one entry of a catalog file. Hidden is meaningful in the user
// file only: it removes the embedded entry of the same name.
type Entry struct {
	Name string `json:"name"`
	// Type is "ews" (the default: a Hosted Exchange server) or "graph"
	// (Microsoft 365: the Graph destination, no URL; Cloud picks the
	// Microsoft cloud).
	Type   string `json:"type,omitempty"`
	Cloud  string `json:"cloud,omitempty"`
	EWSURL string `json:"ews_url,omitempty"`
	OWAURL string `json:"owa_url,omitempty"`
	Notes  string `json:"notes,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// Entry types.
const (
	TypeEWS   = "ews"
	TypeGraph = "graph"
)

// IsGraph says the entry leads to the Graph destination (Microsoft 365).
func (e Entry) IsGraph() bool { return strings.EqualFold(strings.TrimSpace(e.Type), TypeGraph) }

// Provider is the entry as the EWS destination uses it.
func (e Entry) Provider() ews.Provider {
	return ews.Provider{Name: strings.TrimSpace(e.Name), EWSURL: strings.TrimSpace(e.EWSURL),
		OWAURL: strings.TrimSpace(e.OWAURL), Notes: e.Notes}
}

// Validate checks the entry: a name, and (unless Hidden) exactly one of
// EWSURL or OWAURL that ews.Provider.URL accepts. Problems are
// *project.FieldError values (fields "name", "ews_url", "owa_url"), joined.
func (e Entry) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &project.FieldError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	p := e.Provider()
	if p.Name == "" {
		bad("name", "a name is required")
	}
	if e.Hidden {
		return errors.Join(errs...)
	}
	switch strings.ToLower(strings.TrimSpace(e.Type)) {
	case "", TypeEWS:
		if e.Cloud != "" {
			bad("cloud", "only a graph entry has a cloud")
		}
	case TypeGraph:
		if p.EWSURL != "" || p.OWAURL != "" {
			bad("ews_url", "a graph entry (Microsoft 365) has no EWS or OWA URL")
		}
		if _, err := graph.LookupCloud(e.Cloud); err != nil {
			bad("cloud", "%v", err)
		}
		return errors.Join(errs...)
	default:
		bad("type", "%q is not ews or graph", e.Type)
		return errors.Join(errs...)
	}
	exo := false
	for _, x := range []struct{ f, u string }{{"ews_url", p.EWSURL}, {"owa_url", p.OWAURL}} {
		if ews.IsExchangeOnline(x.u) {
			exo = true
			bad(x.f, "%s is Exchange Online, which MailFerry reaches through Microsoft Graph, not EWS: "+
				"make this a graph entry (\"type\": \"graph\", no URL). %s", x.u, ews.RetirementNotice)
		}
	}
	if exo {
		return errors.Join(errs...)
	}
	switch {
	case p.EWSURL != "" && p.OWAURL != "":
		bad("owa_url", "give an EWS URL or an OWA URL, not both")
	case p.EWSURL != "":
		if _, err := ews.EWSURLFromURL(p.EWSURL); err != nil {
			bad("ews_url", "%v", err)
		}
	case p.OWAURL != "":
		if _, err := ews.EWSURLFromOWA(p.OWAURL); err != nil {
			bad("owa_url", "%v", err)
		}
	default:
		bad("ews_url", "an EWS URL or an OWA URL is required")
	}
	if len(errs) == 0 {
		if _, err := p.URL(); err != nil {
			bad("ews_url", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// EntryError reports a bad catalog entry.
type EntryError struct {
	File  string // "embedded catalog" or the user file's path
	Index int    // 1-based position in the file's "providers" list
	Name  string // as written (may be empty)
	Err   error
}

func (e *EntryError) Error() string {
	name := e.Name
	if strings.TrimSpace(name) == "" {
		name = "(no name)"
	}
	return fmt.Sprintf("%s: entry %d %q: %v", e.File, e.Index, name, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// Item is one provider of the merged catalog.
type Item struct {
	ews.Provider
	URL    string // the resolved EWS URL ("" for a graph item)
	Origin Origin
	// Graph says the item is Microsoft 365: choosing it leads to the Graph
	// destination in Cloud.
	Graph bool
	Cloud string
}

// Catalog is the merged catalog.
type Catalog struct {
	Items []Item  // embedded entries (in file order, overridden in place, hidden ones removed), then user additions
	User  []Entry // the user file's entries as read, bad ones included (what Save writes back)
	Path  string  // the user file
}

// Find returns the item named name (case-insensitive, spaces trimmed).
func (c Catalog) Find(name string) (Item, bool) {
	k := key(name)
	for _, it := range c.Items {
		if key(it.Name) == k {
			return it, true
		}
	}
	return Item{}, false
}

// Names lists the items' names in catalog order.
func (c Catalog) Names() []string {
	out := make([]string, len(c.Items))
	for i, it := range c.Items {
		out[i] = it.Name
	}
	return out
}

// Providers lists the items as ews.Options.Providers takes them.
func (c Catalog) Providers() []ews.Provider {
	out := make([]ews.Provider, 0, len(c.Items))
	for _, it := range c.Items {
		if !it.Graph {
			out = append(out, it.Provider)
		}
	}
	return out
}

// DefaultDir is MailFerry's configuration directory,
// <os.UserConfigDir()>/MailFerry.
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("user config dir: %w", err)
	}
	return filepath.Join(base, "MailFerry"), nil
}

// UserPath is the user catalog file in dir ("" means DefaultDir). It
// returns "" when dir is "" and there is no user config dir.
func UserPath(dir string) string {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return ""
		}
		dir = d
	}
	return filepath.Join(dir, FileName)
}

// Load reads the embedded catalog merged with the user file of dir (""
// means DefaultDir; a missing file is an empty user catalog). Bad entries
// and an unreadable user file are reported in errs (each bad entry as an
// *EntryError) and left out; the catalog holds everything else.
func Load(dir string) (Catalog, []error) {
	var errs []error
	path := UserPath(dir)
	var user []Entry
	if path == "" {
		_, err := DefaultDir()
		errs = append(errs, fmt.Errorf("user provider catalog: %w", err))
	} else {
		u, err := LoadUser(dir)
		if err != nil {
			errs = append(errs, err)
		}
		user = u
	}
	c, merr := merge(assets.Providers, user, path)
	return c, append(errs, merr...)
}

// LoadUser reads the user file's entries as written (nil when the file
// does not exist), without validating them.
func LoadUser(dir string) ([]Entry, error) {
	path := UserPath(dir)
	if path == "" {
		_, err := DefaultDir()
		return nil, fmt.Errorf("user provider catalog: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read user provider catalog: %w", err)
	}
	es, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("user provider catalog %s: %w", path, err)
	}
	return es, nil
}

func parse(data []byte) ([]Entry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var doc struct {
		Providers []Entry `json:"providers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a provider catalog: %w", err)
	}
	return doc.Providers, nil
}

func key(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// merge applies the user entries (file path, for messages) to the
// embedded catalog data.
func merge(embedded []byte, user []Entry, path string) (Catalog, []error) {
	const embName = "embedded catalog"
	c := Catalog{User: user, Path: path}
	var errs []error
	base, err := parse(embedded)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", embName, err))
	}
	// valid returns the entries of one file that pass validation, first
	// of a name winning.
	valid := func(es []Entry, file string, allowHidden bool) []Entry {
		seen := map[string]bool{}
		var out []Entry
		for i, e := range es {
			bad := func(err error) { errs = append(errs, &EntryError{File: file, Index: i + 1, Name: e.Name, Err: err}) }
			if e.Hidden && !allowHidden {
				bad(errors.New(`"hidden" is for the user catalog only`))
				continue
			}
			if err := e.Validate(); err != nil {
				bad(err)
				continue
			}
			if seen[key(e.Name)] {
				bad(errors.New("duplicate name: the first entry of this name is used"))
				continue
			}
			seen[key(e.Name)] = true
			out = append(out, e)
		}
		return out
	}
	item := func(e Entry, o Origin) Item {
		p := e.Provider()
		if e.IsGraph() {
			return Item{Provider: p, Origin: o, Graph: true, Cloud: strings.ToLower(strings.TrimSpace(e.Cloud))}
		}
		u, _ := p.URL() // validated
		return Item{Provider: p, URL: u, Origin: o}
	}
	emb := valid(base, embName, false)
	usr := valid(user, path, true)
	byName := map[string]Entry{}
	for _, e := range usr {
		byName[key(e.Name)] = e
	}
	used := map[string]bool{}
	for _, e := range emb {
		k := key(e.Name)
		u, ok := byName[k]
		switch {
		case !ok:
			c.Items = append(c.Items, item(e, Builtin))
		case u.Hidden:
			used[k] = true
		default:
			used[k] = true
			c.Items = append(c.Items, item(u, Override))
		}
	}
	for i, e := range user {
		k := key(e.Name)
		ue, ok := byName[k]
		if !ok || used[k] || ue != e {
			continue
		}
		used[k] = true
		if e.Hidden {
			errs = append(errs, &EntryError{File: path, Index: i + 1, Name: e.Name,
				Err: errors.New("hides no built-in provider of this name")})
			continue
		}
		c.Items = append(c.Items, item(e, User))
	}
	return c, errs
}

// Save validates entries and writes them as the user file of dir (""
// means DefaultDir), creating the directory (0700) and replacing the file
// atomically. Nothing is written when an entry is bad: the error lists
// every bad entry (*EntryError values, joined), as does a duplicate name.
func Save(dir string, entries []Entry) error {
	path := UserPath(dir)
	if path == "" {
		_, err := DefaultDir()
		return fmt.Errorf("user provider catalog: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	clean := make([]Entry, 0, len(entries))
	for i, e := range entries {
		e.Name = strings.TrimSpace(e.Name)
		e.EWSURL = strings.TrimSpace(e.EWSURL)
		e.OWAURL = strings.TrimSpace(e.OWAURL)
		e.Notes = strings.TrimSpace(e.Notes)
		if err := e.Validate(); err != nil {
			errs = append(errs, &EntryError{File: path, Index: i + 1, Name: e.Name, Err: err})
			continue
		}
		if seen[key(e.Name)] {
			errs = append(errs, &EntryError{File: path, Index: i + 1, Name: e.Name, Err: errors.New("duplicate name")})
			continue
		}
		seen[key(e.Name)] = true
		clean = append(clean, e)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	doc := struct {
		Comment   string  `json:"_comment"`
		Providers []Entry `json:"providers"`
	}{
		Comment: "MailFerry user provider catalog, merged with the built-in one: an entry with the name " +
			"of a built-in provider replaces it, \"hidden\": true hides it. Each entry needs a name and " +
			"an ews_url or an owa_url.",
		Providers: clean,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode provider catalog: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".providers-*.json")
	if err != nil {
		return fmt.Errorf("save provider catalog: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save provider catalog: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save provider catalog: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save provider catalog: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save provider catalog: %w", err)
	}
	return nil
}
