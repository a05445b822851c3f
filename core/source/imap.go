package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

var (
	// ErrConnection is imapconn.ErrConnection: the connection failed;
	// reconnecting and retrying may help.
	ErrConnection = imapconn.ErrConnection
	// ErrAuth is imapconn.ErrAuth: the login was refused.
	ErrAuth = imapconn.ErrAuth
	// ErrSecurity is imapconn.ErrSecurity: TLS/STARTTLS failed; MailFerry
	// never falls back to plaintext.
	ErrSecurity = imapconn.ErrSecurity
	// ErrUIDValidity says the folder's UIDVALIDITY is not the one its UIDs
	// were listed under: list it again (and fall back to content keys).
	ErrUIDValidity = errors.New("folder UIDVALIDITY changed")
)

// IMAPOptions tune an IMAPSource. The zero value uses the defaults.
type IMAPOptions struct {
	Conn imapconn.Options
	// Connections is how many connections List/Fetch calls may use in
	// parallel (default 4: the engine migrates Limits.Concurrency folders
	// at once, 4 with an IMAP destination, each holding one connection
	// for its Fetch).
	Connections int
	// ChunkBytes and ChunkMessages bound one UID FETCH of bodies
	// (defaults 2 MiB and 500); a single larger message is its own chunk.
	// Small chunks keep the read-ahead (at most three chunks per Fetch)
	// small next to the engine's own budget of fetched bodies.
	ChunkBytes    int64
	ChunkMessages int
}

// IMAPSource is a read-only mailbox.Source over IMAP. It is safe for
// concurrent use.
type IMAPSource struct {
	opt     IMAPOptions
	pool    *imapconn.Pool
	log     *slog.Logger
	dialRaw func(ctx context.Context) (*imapconn.RawConn, error)

	mu     sync.Mutex
	listed map[string]*listing
	ns     imapconn.Namespaces
	all    allMail // Gmail's [Gmail]/All Mail (allmail.go)
	// trashSpam keeps Gmail's Trash and Spam (Endpoint.IncludeTrashSpam).
	trashSpam bool
	// budget is the bytes this source may download (Gmail's daily limit;
	// 0 = no limit) and spent what it has fetched today (earlier passes
	// included, see MeterDaily); meter resumes and records the count.
	budget, spent int64
	meter         mailbox.DailyMeter
	// gmail is set when the server announces X-GM-EXT-1: List adds every
	// message's X-GM-MSGID (Meta.GmailID), read on gmRaw (gmail.go).
	gmail bool
	gmMu  sync.Mutex
	gmRaw *imapconn.RawConn
}

// listing is what the last List of a folder saw, used by Fetch to plan
// chunks and to reuse the exact header values of the content key. metas
// is sorted by UID and is the very slice List returned (not a copy: the
// engine only reads it).
type listing struct {
	uidValidity uint32
	metas       []mailbox.Meta
}

var _ mailbox.Source = (*IMAPSource)(nil)

// DialIMAP logs in to the source (so bad credentials fail here) and
// returns the source. Close it when done.
func DialIMAP(ctx context.Context, ep project.Endpoint, cred imapconn.Credentials, opt *IMAPOptions) (*IMAPSource, error) {
	var o IMAPOptions
	if opt != nil {
		o = *opt
	}
	if o.Connections < 1 {
		o.Connections = 4
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 2 << 20
	}
	if o.ChunkMessages <= 0 {
		o.ChunkMessages = 500
	}
	log := o.Conn.Logger
	if log == nil {
		log = slog.Default()
	}
	c, err := imapconn.Dial(ctx, ep, cred, &o.Conn)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	s := &IMAPSource{opt: o, log: log, listed: map[string]*listing{}, trashSpam: ep.IncludeTrashSpam, budget: gmailBudget(ep),
		gmail: c.Caps().Has(imapconn.CapGmail)}
	s.pool = imapconn.NewPool(o.Connections, func(ctx context.Context) (*imapconn.Conn, error) {
		return imapconn.Dial(ctx, ep, cred, &o.Conn)
	})
	s.pool.Add(c)
	s.dialRaw = func(ctx context.Context) (*imapconn.RawConn, error) {
		return imapconn.DialRaw(ctx, ep, cred, &o.Conn)
	}
	return s, nil
}

// Close logs out all connections.
func (s *IMAPSource) Close() error {
	s.gmMu.Lock()
	if s.gmRaw != nil {
		s.gmRaw.Close()
		s.gmRaw = nil
	}
	s.gmMu.Unlock()
	return s.pool.Close()
}

func (s *IMAPSource) conn(ctx context.Context) (*imapconn.Conn, error) {
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return c, nil
}

// Folders lists every folder with its namespace, path, role,
// subscription, \Noselect, UIDVALIDITY and message count. Paths lose the
// personal-namespace prefix (NAMESPACE, or inferred without it; see
// imapconn.Namespaces). Subscriptions come from LIST-EXTENDED RETURN
// (SUBSCRIBED), else from LSUB. Counts come from LIST-STATUS where
// offered, else from pipelined STATUS commands.
func (s *IMAPSource) Folders(ctx context.Context) ([]mailbox.Folder, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	list, ext, listStatus, err := listFolders(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	ns, err := c.ReadNamespaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	folders := s.build(list, ns, ext)
	if !ext {
		if err := s.lsub(ctx, folders); err != nil {
			return nil, err
		}
	}
	nameRoles(folders)

	// STATUS for selectable folders the LIST did not cover, pipelined.
	var need []int
	for i, f := range folders {
		if !f.NoSelect && (!listStatus || f.UIDValidity == 0) {
			need = append(need, i)
		}
	}
	if len(need) > 0 {
		if err := s.status(ctx, c, folders, need); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
	}
	slices.SortStableFunc(folders, func(a, b mailbox.Folder) int {
		if (a.Name == "INBOX") != (b.Name == "INBOX") {
			if a.Name == "INBOX" {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Path, b.Path)
	})
	attrs := make(map[string][]imap.MailboxAttr, len(list))
	for _, d := range list {
		attrs[d.Mailbox] = d.Attrs
	}
	return s.applyAllMail(folders, attrs), nil
}

// listFolders runs LIST "" "*", asking (with LIST-EXTENDED: ext) for
// subscriptions and special-use attributes, and (with LIST-STATUS:
// listStatus) for message counts and UIDVALIDITY.
func listFolders(ctx context.Context, c *imapconn.Conn) (list []*imap.ListData, ext, listStatus bool, err error) {
	caps := c.Caps()
	ext = caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)
	var opts *imap.ListOptions
	if ext {
		opts = &imap.ListOptions{ReturnSubscribed: true}
		if caps.Has(imap.CapSpecialUse) {
			opts.ReturnSpecialUse = true
		}
		if caps.Has(imap.CapListStatus) || caps.Has(imap.CapIMAP4rev2) {
			opts.ReturnStatus = &imap.StatusOptions{NumMessages: true, UIDValidity: true}
			listStatus = true
		}
	}
	err = c.Run(ctx, "LIST", func(touch func()) error {
		cmd := c.Client().List("", "*", opts)
		for d := cmd.Next(); d != nil; d = cmd.Next() {
			touch()
			list = append(list, d)
		}
		return cmd.Close()
	})
	return list, ext, listStatus, err
}

// status sets UIDVALIDITY and the message count of folders[need...] with
// pipelined STATUS commands; a folder the server refuses STATUS for is
// marked \Noselect.
func (s *IMAPSource) status(ctx context.Context, c *imapconn.Conn, folders []mailbox.Folder, need []int) error {
	return c.Run(ctx, "STATUS", func(touch func()) error {
		cmds := make([]*imapclient.StatusCommand, len(need))
		for j, i := range need {
			cmds[j] = c.Client().Status(folders[i].Name, &imap.StatusOptions{NumMessages: true, UIDValidity: true})
		}
		for j, i := range need {
			d, err := cmds[j].Wait()
			if err != nil {
				if _, ok := imapconn.ServerError(err); ok {
					// A folder that vanished or is not selectable after all.
					s.log.Debug("source STATUS refused", "folder", folders[i].Name, "err", err)
					folders[i].NoSelect = true
					continue
				}
				return err
			}
			touch()
			folders[i].UIDValidity = d.UIDValidity
			if d.NumMessages != nil {
				folders[i].Messages = *d.NumMessages
			}
		}
		return nil
	})
}

// build turns the LIST answer into folders: namespace and path of each
// name, INBOX spelled "INBOX", SPECIAL-USE roles. Two personal folders
// whose paths would be equal once the prefix is gone (a server with both
// "" and "INBOX." personal namespaces) keep their whole names.
func (s *IMAPSource) build(list []*imap.ListData, ns imapconn.Namespaces, ext bool) []mailbox.Folder {
	if ns.Source != "NAMESPACE" {
		var names []string
		var delim rune
		for _, d := range list {
			names = append(names, d.Mailbox)
			if d.Delim != 0 {
				delim = d.Delim
			}
		}
		ns = imapconn.InferNamespaces(names, delim)
	}
	s.mu.Lock()
	s.ns = ns
	s.mu.Unlock()
	var folders []mailbox.Folder
	seen := map[string]int{}
	for _, d := range list {
		if hasAttr(d.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		kind, path := ns.Split(d.Mailbox, d.Delim)
		f := mailbox.Folder{
			Name:       d.Mailbox,
			Path:       path,
			Delim:      d.Delim,
			NoSelect:   hasAttr(d.Attrs, imap.MailboxAttrNoSelect),
			Subscribed: ext && hasAttr(d.Attrs, imap.MailboxAttrSubscribed),
			Role:       attrRole(d.Attrs),
		}
		if f.Role != "" {
			f.RoleFrom = `\` + f.Role + " on the source"
		}
		if kind != imapconn.NamespacePersonal {
			f.Namespace = kind
		}
		if d.Status != nil {
			f.UIDValidity = d.Status.UIDValidity
			if d.Status.NumMessages != nil {
				f.Messages = *d.Status.NumMessages
			}
		}
		if strings.EqualFold(f.Name, "INBOX") {
			f.Name, f.Role, f.RoleFrom = "INBOX", mailbox.RoleInbox, ""
		}
		key := f.Namespace + "\x00" + strings.Join(f.Path, "\x00")
		if j, dup := seen[key]; dup {
			f.Path = splitName(f.Name, f.Delim)
			folders[j].Path = splitName(folders[j].Name, folders[j].Delim)
		}
		seen[key] = len(folders)
		folders = append(folders, f)
	}
	return folders
}

func splitName(name string, delim rune) []string {
	if delim == 0 {
		return []string{name}
	}
	return strings.Split(name, string(delim))
}

// lsub marks the subscribed folders from LSUB (servers without
// LIST-EXTENDED). A server that refuses LSUB leaves every folder
// subscribed, as the user would rather see too many than lose some.
func (s *IMAPSource) lsub(ctx context.Context, folders []mailbox.Folder) error {
	rc, err := s.dialRaw(ctx)
	if err != nil {
		return fmt.Errorf("source: LSUB: %w", err)
	}
	defer rc.Close()
	subbed, err := rc.Lsub(ctx)
	if _, refused := imapconn.ServerError(err); refused {
		s.log.Warn("source refused LSUB; every folder is taken as subscribed", "err", err)
		for i := range folders {
			folders[i].Subscribed = true
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for i := range folders {
		folders[i].Subscribed = subbed[folders[i].Name] || folders[i].Name == "INBOX"
	}
	return nil
}

// Namespaces is what the last Folders call learned of the source's
// namespaces (the zero value before it).
func (s *IMAPSource) Namespaces() imapconn.Namespaces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

// Findings says what the last Folders call learned of the namespaces.
func (s *IMAPSource) Findings() []string {
	return []string{"source namespaces: " + s.Namespaces().Describe()}
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

func attrRole(attrs []imap.MailboxAttr) string {
	for _, a := range []struct {
		attr imap.MailboxAttr
		role string
	}{
		{imap.MailboxAttrSent, mailbox.RoleSent},
		{imap.MailboxAttrDrafts, mailbox.RoleDrafts},
		{imap.MailboxAttrTrash, mailbox.RoleTrash},
		{imap.MailboxAttrJunk, mailbox.RoleJunk},
		{imap.MailboxAttrArchive, mailbox.RoleArchive},
	} {
		if hasAttr(attrs, a.attr) {
			return a.role
		}
	}
	return ""
}

// nameRoles gives roles by conventional name (mailbox.RoleForName) to
// top-level folders (or children of INBOX, on a server that keeps
// folders under INBOX without saying so by NAMESPACE), for roles no folder
// has by SPECIAL-USE attribute. Exactly spelled names win over names
// equal ignoring case, top-level names over INBOX children; otherwise the
// first folder (in server order) wins.
func nameRoles(folders []mailbox.Folder) {
	taken := map[string]bool{}
	for _, f := range folders {
		if f.Role != "" {
			taken[f.Role] = true
		}
	}
	for _, depth := range []int{1, 2} {
		for _, wantExact := range []bool{true, false} {
			for i := range folders {
				f := &folders[i]
				if f.Role != "" || f.NoSelect || f.Namespace != "" || len(f.Path) != depth {
					continue
				}
				if depth == 2 && !strings.EqualFold(f.Path[0], "INBOX") {
					continue
				}
				role, exact := mailbox.RoleForName(f.Path[depth-1])
				if role == "" || taken[role] || exact != wantExact {
					continue
				}
				f.Role = role
				f.RoleFrom = fmt.Sprintf("named %q", f.Path[depth-1])
				taken[role] = true
			}
		}
	}
}

// List examines folder and lists every message's UID, flags, INTERNALDATE,
// size and content-key headers in one streamed UID FETCH 1:*, then applies
// the filter. It returns the metadata in UID order and the UIDVALIDITY.
func (s *IMAPSource) List(ctx context.Context, folder mailbox.Folder, f mailbox.Filter) ([]mailbox.Meta, uint32, error) {
	if folder.NoSelect {
		return nil, folder.UIDValidity, nil
	}
	all, uv, err := s.list(ctx, folder)
	if err != nil {
		return nil, 0, err
	}
	if all, err = s.dropLabelled(ctx, folder, all); err != nil {
		return nil, 0, fmt.Errorf("source: %w", err)
	}
	out := all[:0] // in place: all is this call's own
	for _, m := range all {
		if keep(m, f) {
			out = append(out, m)
		}
	}
	s.setListing(folder.Name, uv, out)
	return out, uv, nil
}

// setListing remembers metas (sorted by UID) as folder's listing.
func (s *IMAPSource) setListing(name string, uv uint32, metas []mailbox.Meta) {
	s.mu.Lock()
	s.listed[name] = &listing{uidValidity: uv, metas: metas}
	s.mu.Unlock()
}

// list examines folder and lists all its messages (sorted by UID),
// remembering them for Fetch.
func (s *IMAPSource) list(ctx context.Context, folder mailbox.Folder) ([]mailbox.Meta, uint32, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer s.pool.Put(c)
	data, err := c.Select(ctx, folder.Name, true, true)
	if err != nil {
		return nil, 0, fmt.Errorf("source: %w", err)
	}
	uv := data.UIDValidity
	var all []mailbox.Meta
	if data.NumMessages > 0 {
		all = make([]mailbox.Meta, 0, data.NumMessages)
		section := imapconn.KeyHeaderSection()
		err = c.Run(ctx, fmt.Sprintf("UID FETCH 1:* in %q", folder.Name), func(touch func()) error {
			cmd := c.Client().Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
				UID: true, Flags: true, InternalDate: true, RFC822Size: true,
				BodySection: []*imap.FetchItemBodySection{section},
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
				m := mailbox.Meta{
					UID:          uint32(buf.UID),
					Size:         buf.RFC822Size,
					Flags:        flagStrings(buf.Flags),
					InternalDate: buf.InternalDate,
				}
				imapconn.ParseKeyHeaders(buf.FindBodySection(section)).Apply(&m)
				all = append(all, m)
			}
			return cmd.Close()
		})
		if err != nil {
			return nil, 0, fmt.Errorf("source: %w", err)
		}
	}
	slices.SortFunc(all, func(a, b mailbox.Meta) int { return cmp.Compare(a.UID, b.UID) })
	if s.gmail && len(all) > 0 {
		if err := s.addGmailIDs(ctx, folder.Name, uv, all); err != nil {
			return nil, 0, fmt.Errorf("source: %w", err)
		}
	}
	s.setListing(folder.Name, uv, all)
	return all, uv, nil
}

func keep(m mailbox.Meta, f mailbox.Filter) bool {
	if !f.Since.IsZero() && m.InternalDate.Before(f.Since) {
		return false
	}
	if !f.Before.IsZero() && !m.InternalDate.Before(f.Before) {
		return false
	}
	if f.MaxSize > 0 && m.Size > f.MaxSize {
		return false
	}
	return true
}

// flagStrings converts flags, dropping the session-only \Recent.
func flagStrings(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	return out
}

// Fetch streams the full messages for uids to fn (in UID order). UIDs no
// longer in the folder (expunged since List) are skipped. Bodies are read
// with BODY.PEEK[] in chunks (ChunkBytes/ChunkMessages); the next chunk is
// read while fn consumes the previous one, and at most three chunks are in
// memory. A folder whose UIDVALIDITY differs from the one List saw (or
// folder.UIDValidity when it was not listed) yields ErrUIDValidity.
func (s *IMAPSource) Fetch(ctx context.Context, folder mailbox.Folder, uids []uint32, fn func(mailbox.Message) error) error {
	if len(uids) == 0 {
		return nil
	}
	uids = normUIDs(uids)
	c, err := s.conn(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	uv, l, err := s.selectListed(ctx, c, folder)
	if err != nil {
		return err
	}
	sizes, err := s.sizes(ctx, c, folder, uids, l)
	if err != nil {
		return err
	}
	chunks := planChunks(uids, sizes, s.opt.ChunkBytes, s.opt.ChunkMessages)

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []mailbox.Message, 1)
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		readErr = s.readChunks(rctx, c, folder.Name, uv, chunks, sizes, l, ch)
	}()
	fnErr := deliver(ch, fn)
	cancel()
	for range ch {
	}
	<-done
	switch {
	case fnErr != nil:
		return fnErr
	case ctx.Err() != nil:
		return ctx.Err()
	case readErr != nil:
		return fmt.Errorf("source: %w", readErr)
	}
	return nil
}

// normUIDs is uids (not empty) sorted, without duplicates and without 0
// (a copy).
func normUIDs(uids []uint32) []uint32 {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	uids = slices.Compact(uids)
	if uids[0] == 0 {
		uids = uids[1:]
	}
	return uids
}

// selectListed selects folder read-only and checks its UIDVALIDITY uv
// against the one List saw (or folder.UIDValidity when it was not
// listed). l is the folder's listing, nil when there is none for uv.
func (s *IMAPSource) selectListed(ctx context.Context, c *imapconn.Conn, folder mailbox.Folder) (uv uint32, l *listing, err error) {
	data, err := c.Select(ctx, folder.Name, true, false)
	if err != nil {
		return 0, nil, fmt.Errorf("source: %w", err)
	}
	uv = data.UIDValidity
	s.mu.Lock()
	l = s.listed[folder.Name]
	s.mu.Unlock()
	want := folder.UIDValidity
	if l != nil {
		want = l.uidValidity
	}
	if want != 0 && want != uv {
		return 0, nil, fmt.Errorf("source: folder %q: UIDVALIDITY is %d, listed under %d: %w", folder.Name, uv, want, ErrUIDValidity)
	}
	if l != nil && l.uidValidity != uv {
		l = nil
	}
	return uv, l, nil
}

// readChunks fetches the chunks one after the other into ch (spending
// the daily budget first) until ctx is done. After a failure the messages
// that arrived whole are still handed over, so a retry fetches only the
// rest.
func (s *IMAPSource) readChunks(ctx context.Context, c *imapconn.Conn, name string, uv uint32, chunks [][]uint32, sizes map[uint32]int64, l *listing, ch chan<- []mailbox.Message) error {
	for _, chunk := range chunks {
		if err := s.spend(chunk, sizes); err != nil {
			return err
		}
		msgs, err := s.fetchChunk(ctx, c, name, uv, chunk, l)
		if err != nil {
			if len(msgs) > 0 {
				select {
				case ch <- msgs:
				case <-ctx.Done():
				}
			}
			return err
		}
		select {
		case ch <- msgs:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// deliver hands the messages from ch to fn, dropping each body once fn
// returned, until fn fails.
func deliver(ch <-chan []mailbox.Message, fn func(mailbox.Message) error) error {
	for msgs := range ch {
		for i := range msgs {
			if err := fn(msgs[i]); err != nil {
				return err
			}
			msgs[i].Body = nil // let the collector have it
		}
	}
	return nil
}

// sizes returns the RFC822 sizes of uids, from the listing or, for UIDs it
// does not know, from one UID FETCH RFC822.SIZE.
func (s *IMAPSource) sizes(ctx context.Context, c *imapconn.Conn, folder mailbox.Folder, uids []uint32, l *listing) (map[uint32]int64, error) {
	sizes := make(map[uint32]int64, len(uids))
	var missing imap.UIDSet
	for _, u := range uids {
		if m, ok := l.meta(u); ok {
			sizes[u] = m.Size
			continue
		}
		missing.AddNum(imap.UID(u))
	}
	if len(missing) == 0 {
		return sizes, nil
	}
	err := c.Run(ctx, fmt.Sprintf("UID FETCH RFC822.SIZE in %q", folder.Name), func(touch func()) error {
		cmd := c.Client().Fetch(missing, &imap.FetchOptions{UID: true, RFC822Size: true})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			touch()
			buf, err := msg.Collect()
			if err != nil {
				cmd.Close()
				return err
			}
			sizes[uint32(buf.UID)] = buf.RFC822Size
		}
		return cmd.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	return sizes, nil
}

// planChunks groups uids (sorted) into runs of at most maxMsgs messages
// and maxBytes bytes (a larger single message is its own chunk). UIDs
// without a size (gone from the folder) are dropped.
func planChunks(uids []uint32, sizes map[uint32]int64, maxBytes int64, maxMsgs int) [][]uint32 {
	return mailbox.Chunks(uids, maxMsgs, maxBytes, func(u uint32) (int64, bool) {
		sz, ok := sizes[u]
		return sz, ok
	})
}

// fetchChunk reads the full messages of one chunk into memory.
func (s *IMAPSource) fetchChunk(ctx context.Context, c *imapconn.Conn, name string, uv uint32, chunk []uint32, l *listing) ([]mailbox.Message, error) {
	var set imap.UIDSet
	for _, u := range chunk {
		set.AddNum(imap.UID(u))
	}
	out := make([]mailbox.Message, 0, len(chunk))
	err := c.Run(ctx, fmt.Sprintf("UID FETCH BODY.PEEK[] in %q", name), func(touch func()) error {
		cmd := c.Client().Fetch(set, &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			touch()
			var m mailbox.Message
			gotBody := false
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					m.UID = uint32(it.UID)
				case imapclient.FetchItemDataFlags:
					m.Flags = flagStrings(it.Flags)
				case imapclient.FetchItemDataInternalDate:
					m.InternalDate = it.Time
				case imapclient.FetchItemDataRFC822Size:
					m.Size = it.Size
				case imapclient.FetchItemDataBodySection:
					gotBody = true
					if it.Literal == nil {
						m.Body = []byte{}
						continue
					}
					body := make([]byte, it.Literal.Size())
					if _, err := io.ReadFull(touchReader{it.Literal, touch}, body); err != nil {
						cmd.Close()
						return err
					}
					m.Body = body
				}
			}
			if m.UID == 0 || !gotBody {
				continue // unsolicited FETCH (flag update)
			}
			if cached, ok := l.meta(m.UID); ok {
				m.MessageID, m.Date, m.From, m.Subject = cached.MessageID, cached.Date, cached.From, cached.Subject
				m.GmailID = cached.GmailID
				if cached.HasFlag(flagFlagged) && !m.HasFlag(flagFlagged) {
					m.Flags = append(m.Flags, flagFlagged) // Starred (gmail.go)
				}
			} else {
				imapconn.ParseKeyHeaders(m.Body).Apply(&m.Meta)
			}
			m.Key = m.JournalKey(uv)
			m.ContentKey = m.Meta.ContentKey()
			out = append(out, m)
		}
		return cmd.Close()
	})
	slices.SortFunc(out, func(a, b mailbox.Message) int { return cmp.Compare(a.UID, b.UID) })
	if err != nil {
		return out, err // the complete messages received before the failure
	}
	return out, nil
}

// Release drops the per-message part of folder's listing (it grows with
// the mailbox) and keeps its UIDVALIDITY, so that a later Fetch still
// refuses a folder whose UIDVALIDITY changed; it reads sizes and key
// headers from the server again.
func (s *IMAPSource) Release(folder mailbox.Folder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.listed[folder.Name]; l != nil {
		s.listed[folder.Name] = &listing{uidValidity: l.uidValidity}
	}
}

var _ mailbox.FolderReleaser = (*IMAPSource)(nil)

func (l *listing) meta(uid uint32) (mailbox.Meta, bool) {
	if l == nil {
		return mailbox.Meta{}, false
	}
	i, ok := slices.BinarySearchFunc(l.metas, uid, func(m mailbox.Meta, uid uint32) int { return cmp.Compare(m.UID, uid) })
	if !ok {
		return mailbox.Meta{}, false
	}
	return l.metas[i], true
}

// touchReader reports progress on every read so that a large body on a
// slow link does not trip the command timeout.
type touchReader struct {
	r     io.Reader
	touch func()
}

func (t touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.touch()
	}
	return n, err
}
