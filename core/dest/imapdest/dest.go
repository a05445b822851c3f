package imapdest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

var (
	// ErrConnection is imapconn.ErrConnection.
	ErrConnection = imapconn.ErrConnection
	// ErrAuth is imapconn.ErrAuth.
	ErrAuth = imapconn.ErrAuth
	// ErrSecurity is imapconn.ErrSecurity: TLS/STARTTLS failed; MailFerry
	// never falls back to plaintext.
	ErrSecurity = imapconn.ErrSecurity
)

// Substitute replaces characters a folder name component cannot hold
// (the destination's delimiter, "*", "%", control characters).
const Substitute = "_"

// Options tune a Destination. The zero value uses the defaults.
type Options struct {
	Conn imapconn.Options
	// Connections is how many connections (and parallel Puts) to use;
	// default 4.
	Connections int
	// BatchSize and BatchBytes are the Limits the engine batches by;
	// defaults 100 messages (one MULTIAPPEND command) and 4 MiB (the
	// engine holds (Concurrency+2)*BatchBytes of fetched bodies at most).
	BatchSize  int
	BatchBytes int64
	// MaxItemSize refuses larger messages without sending them; 0 = the
	// server's APPENDLIMIT if it advertises one, else no limit.
	MaxItemSize int64
	// NoFastAppend makes Put use go-imap's client for APPEND even when the
	// server offers MULTIAPPEND or LITERAL+ (see the package doc).
	NoFastAppend bool
}

// Destination is an IMAP mailbox.Destination. It is safe for concurrent
// use.
type Destination struct {
	opt   Options
	pool  *imapconn.Pool
	raw   *imapconn.ConnPool[*imapconn.RawConn] // APPEND connections of the fast path
	log   *slog.Logger
	delim rune
	caps  imap.CapSet
	// ns and prefix: the destination's namespaces and the personal prefix
	// new folders go under, as components ("INBOX." → ["INBOX"]).
	ns     imapconn.Namespaces
	prefix []string
	ext    bool // LIST-EXTENDED: subscription state is known

	// slowNext sends the next Put one message at a time (see Put).
	slowNext atomic.Bool

	mu      sync.Mutex
	exists  map[string]bool
	subbed  map[string]bool
	special map[string]string // role → folder name
	// moved: source paths whose folder went elsewhere (a role folder, a
	// refused name) → destination components; their children follow.
	moved map[string][]string
	// conventional: role → existing folder with a conventional name, for
	// roles no folder has by SPECIAL-USE.
	conventional map[string]string
	flags        map[string]*flagPolicy
}

var _ mailbox.Destination = (*Destination)(nil)

// Dial logs in to the destination, learns its delimiter, folders,
// subscriptions and special-use folders, and returns the Destination.
func Dial(ctx context.Context, ep project.Endpoint, cred imapconn.Credentials, opt *Options) (*Destination, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Connections < 1 {
		o.Connections = 4
	}
	if o.BatchSize < 1 {
		o.BatchSize = 100
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	log := o.Conn.Logger
	if log == nil {
		log = slog.Default()
	}
	c, err := imapconn.Dial(ctx, ep, cred, &o.Conn)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	d := &Destination{
		opt: o, log: log, caps: c.Caps(),
		exists: map[string]bool{}, subbed: map[string]bool{},
		special: map[string]string{}, flags: map[string]*flagPolicy{},
		moved: map[string][]string{}, conventional: map[string]string{},
	}
	if o.MaxItemSize == 0 {
		if lim, ok := d.caps.AppendLimit(); ok && lim != nil {
			d.opt.MaxItemSize = int64(*lim)
		}
	}
	if err := d.discover(ctx, c); err != nil {
		c.Close()
		return nil, fmt.Errorf("destination: %w", err)
	}
	d.pool = imapconn.NewPool(o.Connections, func(ctx context.Context) (*imapconn.Conn, error) {
		return imapconn.Dial(ctx, ep, cred, &o.Conn)
	})
	d.pool.Add(c)
	d.raw = imapconn.NewPool(o.Connections, func(ctx context.Context) (*imapconn.RawConn, error) {
		return imapconn.DialRaw(ctx, ep, cred, &o.Conn)
	})
	return d, nil
}

func (d *Destination) discover(ctx context.Context, c *imapconn.Conn) error {
	err := c.Run(ctx, `LIST "" ""`, func(func()) error {
		l, err := c.Client().List("", "", nil).Collect()
		if err == nil && len(l) > 0 {
			d.delim = l[0].Delim
		}
		return err
	})
	if err != nil {
		return err
	}
	if d.ns, err = c.ReadNamespaces(ctx); err != nil {
		return err
	}
	d.ext = d.caps.Has(imap.CapListExtended) || d.caps.Has(imap.CapIMAP4rev2)
	var opts *imap.ListOptions
	if d.ext {
		opts = &imap.ListOptions{ReturnSubscribed: true, ReturnSpecialUse: d.caps.Has(imap.CapSpecialUse)}
	}
	err = c.Run(ctx, `LIST "" "*"`, func(touch func()) error {
		cmd := c.Client().List("", "*", opts)
		for l := cmd.Next(); l != nil; l = cmd.Next() {
			touch()
			if hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
				if hasAttr(l.Attrs, imap.MailboxAttrSubscribed) {
					d.subbed[l.Mailbox] = true
				}
				continue
			}
			name := l.Mailbox
			if strings.EqualFold(name, "INBOX") {
				name = "INBOX"
			}
			d.exists[name] = true
			if hasAttr(l.Attrs, imap.MailboxAttrSubscribed) {
				d.subbed[name] = true
			}
			for attr, role := range specialRoles {
				if hasAttr(l.Attrs, attr) && d.special[role] == "" && !hasAttr(l.Attrs, imap.MailboxAttrNoSelect) {
					d.special[role] = name
				}
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return err
	}
	d.setPrefix()
	return nil
}

// setPrefix decides the personal prefix from NAMESPACE, or without it
// from the folder names (see imapconn.InferNamespaces).
func (d *Destination) setPrefix() {
	if d.ns.Source != "NAMESPACE" {
		names := make([]string, 0, len(d.exists))
		for n := range d.exists {
			names = append(names, n)
		}
		d.ns = imapconn.InferNamespaces(names, d.delim)
	}
	defer d.conventionalRoles()
	prefix, delim := d.ns.PersonalPrefix()
	if prefix == "" {
		return
	}
	if delim == 0 {
		delim = d.delim
	}
	if d.delim == 0 {
		d.delim = delim
	}
	trimmed := strings.TrimSuffix(prefix, string(delim))
	if delim == 0 || trimmed == "" {
		return
	}
	d.prefix = strings.Split(trimmed, string(delim))
	if strings.EqualFold(d.prefix[0], "INBOX") {
		d.prefix[0] = "INBOX"
	}
}

// conventionalRoles gives the roles no folder has by SPECIAL-USE to
// existing top-level personal folders with a conventional name (exact
// spelling first, then ignoring case).
func (d *Destination) conventionalRoles() {
	names := make([]string, 0, len(d.exists))
	for n := range d.exists {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, wantExact := range []bool{true, false} {
		for _, n := range names {
			kind, path := d.ns.Split(n, d.delim)
			if kind != imapconn.NamespacePersonal || len(path) != 1 {
				continue
			}
			role, exact := mailbox.RoleForName(path[0])
			if role != "" && exact == wantExact && d.special[role] == "" && d.conventional[role] == "" {
				d.conventional[role] = n
			}
		}
	}
}

// Findings says where new folders go.
func (d *Destination) Findings() []string {
	return []string{"destination namespaces: " + d.ns.Describe()}
}

// RoleFolder is the full name of the folder that EnsureFolder would use
// for a folder with role and path, without creating anything.
func (d *Destination) RoleFolder(role string, path []string) string {
	if role == mailbox.RoleInbox {
		return "INBOX"
	}
	if comps := d.roleFolder(role, path); comps != nil {
		return strings.Join(comps, d.delimString())
	}
	return d.FolderName(path)
}

// Namespaces is what the destination said of its namespaces (or what was
// inferred without NAMESPACE).
func (d *Destination) Namespaces() imapconn.Namespaces { return d.ns }

var specialRoles = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent:    mailbox.RoleSent,
	imap.MailboxAttrDrafts:  mailbox.RoleDrafts,
	imap.MailboxAttrTrash:   mailbox.RoleTrash,
	imap.MailboxAttrJunk:    mailbox.RoleJunk,
	imap.MailboxAttrArchive: mailbox.RoleArchive,
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// Delimiter is the server's hierarchy delimiter (0 for a flat server).
func (d *Destination) Delimiter() rune { return d.delim }

// Close logs out all connections.
func (d *Destination) Close() error {
	d.raw.Close()
	return d.pool.Close()
}

// Limits: batches of BatchSize messages / BatchBytes, Connections Puts in
// parallel, and the server's APPENDLIMIT (or Options.MaxItemSize).
func (d *Destination) Limits() mailbox.Limits {
	return mailbox.Limits{
		MaxItemSize: d.opt.MaxItemSize,
		BatchSize:   d.opt.BatchSize,
		BatchBytes:  d.opt.BatchBytes,
		Concurrency: d.opt.Connections,
	}
}

// FolderName is the full destination name EnsureFolder uses for path
// (without roles): the personal-namespace prefix, then the components
// sanitised, joined with the delimiter.
func (d *Destination) FolderName(path []string) string {
	comps, _ := d.fullPath(path)
	return strings.Join(comps, d.delimString())
}

// fullPath is path under the personal prefix (INBOX and its children
// stay where they are), and how many leading components are the prefix,
// which EnsureFolder never creates.
func (d *Destination) fullPath(path []string) ([]string, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fullPathLocked(path)
}

func (d *Destination) fullPathLocked(path []string) ([]string, int) {
	comps := d.components(path)
	if len(d.prefix) == 0 || comps[0] == "INBOX" {
		return comps, 0
	}
	return append(append([]string(nil), d.prefix...), comps...), len(d.prefix)
}

func (d *Destination) delimString() string {
	if d.delim == 0 {
		return "/"
	}
	return string(d.delim)
}

func (d *Destination) components(path []string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = sanitize(p, d.delim)
		if i == 0 && strings.EqualFold(out[i], "INBOX") {
			out[i] = "INBOX"
		}
	}
	return out
}

func sanitize(s string, delim rune) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == delim && delim != 0, r == '*', r == '%', r < 0x20, r == 0x7f:
			b.WriteString(Substitute)
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return Substitute
	}
	return b.String()
}

// EnsureFolder creates the folder for path (and its parents) unless it
// exists, subscribes it when asked, and returns its reference (ID is the
// full IMAP name). See the package documentation for name and role rules.
func (d *Destination) EnsureFolder(ctx context.Context, path []string, role string, subscribe bool) (mailbox.FolderRef, error) {
	if len(path) == 0 && role != mailbox.RoleInbox {
		return mailbox.FolderRef{}, fmt.Errorf("destination: empty folder path")
	}
	comps, fixed := d.resolve(path, role)
	sep := d.delimString()
	c, err := d.pool.Get(ctx)
	if err != nil {
		return mailbox.FolderRef{}, fmt.Errorf("destination: %w", err)
	}
	defer d.pool.Put(c)
	var notes []string
	for i := fixed; i < len(comps); i++ {
		name := strings.Join(comps[:i+1], sep)
		if d.known(name) {
			continue
		}
		err := d.create(ctx, c, name)
		if _, refused := imapconn.ServerError(err); refused {
			// The server refuses the name (Cyrus: `"` in names, "Invalid
			// mailbox name"): try the sanitised names, keep the first it
			// takes; the children follow it.
			for _, alt := range fallbackNames(comps[i]) {
				altName := strings.Join(append(slices.Clone(comps[:i]), alt), sep)
				if d.known(altName) || d.create(ctx, c, altName) == nil {
					notes = append(notes, fmt.Sprintf("the destination refused the name %q (%v); created as %q", comps[i], err, alt))
					d.renamed(path, comps, i, alt)
					comps[i], name, err = alt, altName, nil
					break
				}
			}
		}
		if err != nil {
			return mailbox.FolderRef{}, fmt.Errorf("destination: %w", err)
		}
		d.mu.Lock()
		d.exists[name] = true
		d.mu.Unlock()
	}
	name := strings.Join(comps, sep)
	if subscribe && !d.isSubscribed(name) {
		err := c.Run(ctx, fmt.Sprintf("SUBSCRIBE %q", name), func(func()) error {
			return c.Client().Subscribe(name).Wait()
		})
		if err != nil {
			return mailbox.FolderRef{}, fmt.Errorf("destination: %w", err)
		}
		d.mu.Lock()
		d.subbed[name] = true
		d.mu.Unlock()
	}
	return mailbox.FolderRef{ID: name, Path: comps, Note: strings.Join(notes, "; ")}, nil
}

// create sends CREATE name; a folder that already exists is no error.
func (d *Destination) create(ctx context.Context, c *imapconn.Conn, name string) error {
	err := c.Run(ctx, fmt.Sprintf("CREATE %q", name), func(func()) error {
		return c.Client().Create(name, nil).Wait()
	})
	if ie, ok := imapconn.ServerError(err); ok && ie.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if _, ok := imapconn.ServerError(err); ok && d.existsOnServer(ctx, c, name) {
		return nil // e.g. a server without ALREADYEXISTS
	}
	return err
}

// resolve is the full destination name of path as components, and how
// many leading components are the namespace prefix (never created):
// INBOX is INBOX; a folder with a role goes to the destination's folder
// of that role (see roleFolder) and its subfolders follow it; a folder
// under a parent whose name was refused follows the name that was taken;
// everything else goes under the personal prefix.
func (d *Destination) resolve(path []string, role string) ([]string, int) {
	if role == mailbox.RoleInbox || (len(path) == 1 && strings.EqualFold(path[0], "INBOX")) {
		return []string{"INBOX"}, 0
	}
	if role != mailbox.RoleInbox && role != "" {
		if comps := d.roleFolder(role, path); comps != nil {
			d.mu.Lock()
			d.moved[pathKey(path)] = comps
			d.mu.Unlock()
			return slices.Clone(comps), len(comps)
		}
	}
	comps, fixed := d.fullPath(path)
	d.mu.Lock()
	defer d.mu.Unlock()
	// The longest ancestor that went elsewhere decides.
	for n := len(path) - 1; n >= 1; n-- {
		if to, ok := d.moved[pathKey(path[:n])]; ok {
			out := append(slices.Clone(to), comps[len(comps)-(len(path)-n):]...)
			return out, len(to)
		}
	}
	return comps, fixed
}

// renamed records that comps[i], a component of the folder of path, was
// created as alt, so that the children of that folder follow it.
func (d *Destination) renamed(path, comps []string, i int, alt string) {
	j := i - (len(comps) - len(path)) // the index of that component in path
	if j < 0 {
		return
	}
	to := append(slices.Clone(comps[:i]), alt)
	d.mu.Lock()
	d.moved[pathKey(path[:j+1])] = to
	d.mu.Unlock()
}

func pathKey(path []string) string { return strings.Join(path, "\x00") }

// fallbackNames are the names tried, in order, when the server refuses a
// component: quotes and backslashes replaced, then only letters, digits,
// space, "-", "_" and "'" kept (others become "_").
func fallbackNames(c string) []string {
	var out []string
	soft := strings.NewReplacer(`"`, "'", `\`, "_", "&", "+", "~", "-").Replace(c)
	soft = strings.TrimLeft(soft, ".")
	if soft != c && soft != "" {
		out = append(out, soft)
	}
	hard := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '-', r == '_', r == '\'':
			return r
		}
		return '_'
	}, c)
	if hard = strings.TrimSpace(hard); hard != "" && hard != c && !slices.Contains(out, hard) {
		out = append(out, hard)
	}
	return out
}

// roleFolder is the destination folder of role, as components: the one
// with that SPECIAL-USE attribute; else, unless the folder's own name
// already exists (a folder a previous run created stays the one used), an
// existing top-level personal folder with a conventional name
// (mailbox.RoleForName); nil when there is none. It depends only on what
// the destination held before, so reruns resolve alike.
func (d *Destination) roleFolder(role string, path []string) []string {
	d.mu.Lock()
	name := d.special[role]
	if name == "" {
		own, _ := d.fullPathLocked(path)
		if d.exists[strings.Join(own, d.delimString())] {
			d.mu.Unlock()
			return nil
		}
		name = d.conventional[role]
	}
	d.mu.Unlock()
	if name == "" {
		return nil
	}
	if d.delim == 0 {
		return []string{name}
	}
	return strings.Split(name, string(d.delim))
}

func (d *Destination) specialFor(role string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.special[role]
}

func (d *Destination) known(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exists[name]
}

func (d *Destination) isSubscribed(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.subbed[name]
}

func (d *Destination) existsOnServer(ctx context.Context, c *imapconn.Conn, name string) bool {
	found := false
	_ = c.Run(ctx, fmt.Sprintf("LIST %q", name), func(func()) error {
		l, err := c.Client().List("", name, nil).Collect()
		for _, x := range l {
			if x.Mailbox == name && !hasAttr(x.Attrs, imap.MailboxAttrNonExistent) {
				found = true
			}
		}
		return err
	})
	return found
}

// Existing counts the messages of f by content key, from one streamed
// UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE
// FROM SUBJECT)]), parsed exactly as the IMAP source parses them.
func (d *Destination) Existing(ctx context.Context, f mailbox.FolderRef) (map[mailbox.ContentKey]int, error) {
	c, err := d.pool.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	defer d.pool.Put(c)
	data, err := c.Select(ctx, f.ID, false, true)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	d.setPolicy(f.ID, data.PermanentFlags)
	out := map[mailbox.ContentKey]int{}
	if data.NumMessages == 0 {
		return out, nil
	}
	section := imapconn.KeyHeaderSection()
	err = c.Run(ctx, fmt.Sprintf("UID FETCH 1:* in %q", f.ID), func(touch func()) error {
		cmd := c.Client().Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section},
		})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			touch()
			buf, err := msg.Collect()
			if err != nil {
				cmd.Close()
				return err
			}
			if buf.UID == 0 {
				continue
			}
			h := imapconn.ParseKeyHeaders(buf.FindBodySection(section))
			out[mailbox.MakeContentKey(h.MessageID, h.Date, h.From, h.Subject, buf.RFC822Size)]++
		}
		return cmd.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return out, nil
}

// appendCmd is an issued APPEND.
type appendCmd = imapclient.AppendCommand
