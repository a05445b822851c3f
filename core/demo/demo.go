package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/graphemu"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/outbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Name and customer of the demo project, and the destination's admin
// account (FullAccess on the demo mailboxes: the delegation access mode).
const (
	ProjectName = "Demo"
	Customer    = "Demo Company"
	AdminUser   = "migration-admin@newco.example.com"
)

// ErrNotDemo means a project called "Demo" exists but is the user's own
// project, so the demo leaves it alone.
var ErrNotDemo = errors.New(`a project named "Demo" exists and is not the demo project`)

// User is one demo mailbox.
type User struct {
	Source, Dest string // email addresses, also the logins
	Spec         corpus.Spec
	// Gmail makes the mailbox Gmail-style (memimap.FillGmail): labels as
	// folders, [Gmail]/All Mail (\All) holding every message, Sent Mail,
	// Drafts, Starred, Important, Trash and Spam under [Gmail].
	Gmail bool
}

// Users are the demo mailboxes: three users moving from an old domain to a
// new one, with mailboxes of different sizes (the first two with the hard
// cases: odd folder names, 8-bit headers, duplicates…, and a message of
// 3 MB and 2.5 MB over the demo's MaxItemSizeMB, so that a pass ends with
// failed items to look at and Retry Errors; the third one Gmail-style, so
// the labels, All Mail and X-GM-MSGID handling can be tried).
var Users = []User{
	{"alice@oldco.example.com", "alice@newco.example.com", corpus.Spec{Messages: 140, Seed: 101, MaxSize: 24 << 10, Edge: true, LargestSize: 3 << 20}, false},
	{"bob@oldco.example.com", "bob@newco.example.com", corpus.Spec{Messages: 90, Seed: 202, MaxSize: 24 << 10, Edge: true, LargestSize: 5 << 19}, false},
	{"carol@oldco.example.com", "carol@newco.example.com", corpus.Spec{Messages: 60, Seed: 303, MaxSize: 16 << 10}, true},
}

// Demo is a running demo on 127.0.0.1: an in-memory IMAP source filled
// with the demo mailboxes and an EWS emulator (Hosted Exchange) holding the
// empty destination mailboxes, so the demo is an IMAP → Exchange migration.
type Demo struct {
	Project string
	Source  *memimap.Server
	Dest    *ewsemu.Server   // the EWS destination (nil with a Graph demo)
	Graph   *graphemu.Server // the Graph destination (nil with an EWS demo)
	// Outbox receives the demo's mail (Notify Users, Request Passwords,
	// emailed reports): the project's SMTP settings point at it, and the
	// GUI's Demo outbox viewer lists what it holds.
	Outbox *outbox.Server
}

// OutboxFrom is the sender of the demo's mail; SMTP settings with this
// sender are the demo outbox's and follow it to its new port on restart.
const OutboxFrom = "it-support@newco.example.com"

// Options choose the demo's destination.
type Options struct {
	// Dest is project.TypeEWS (the default: Hosted Exchange, EWS emulator)
	// or project.TypeGraph (Exchange Online, Graph emulator: an app with
	// Mail.ReadWrite and Mail-Advanced.ReadWrite.All, so messages are
	// imported from MIME).
	Dest project.EndpointType
	// BytesPerSecond paces each source connection like a real server
	// over the internet, so a demo pass takes seconds and its progress
	// (phase, folder, ETA) can be watched: 0 = DefaultBytesPerSecond,
	// negative = as fast as the machine goes.
	BytesPerSecond int64
}

// MaxItemSizeMB is the demo project's max item size: below the largest
// demo messages, so a first pass shows failed items ("message is 3.0 MB,
// over the 2 MB limit …"); raising it in the project options and running
// Retry Errors migrates them.
const MaxItemSizeMB = 2

// DefaultBytesPerSecond is the demo source's pace per connection: a Full
// pass of the demo's three users takes some ten seconds instead of well
// under one, like a small real migration would (a slow hosting server).
const DefaultBytesPerSecond = 48 << 10

// GraphClientID is the demo's app registration in the Graph emulator.
const GraphClientID = "5e1f0c3a-de70-4a11-9f00-00000000de70"

// Close stops the servers.
func (d *Demo) Close() error {
	var errs []error
	if d.Source != nil {
		errs = append(errs, d.Source.Close())
	}
	if d.Dest != nil {
		errs = append(errs, d.Dest.Close())
	}
	if d.Graph != nil {
		errs = append(errs, d.Graph.Close())
	}
	if d.Outbox != nil {
		errs = append(errs, d.Outbox.Close())
	}
	return errors.Join(errs...)
}

// Start starts the demo servers, fills the source mailboxes and creates or
// refreshes the project "Demo" in st so its endpoints point at the servers'
// current ports, the destination pins the emulator's new certificate, and
// the users (source side) and the destination admin carry freshly sealed
// passwords. The destination is Hosted Exchange (EWS) reached by
// delegation: AdminUser has FullAccess on every demo mailbox, and the users
// have no destination password of their own.
//
// The servers keep their mail in memory, so every Start begins with full
// sources and empty destinations. An existing demo project is therefore
// recreated: its options, SMTP settings and the users' support options are
// kept, while statuses and checkpoints start over (old checkpoints would
// claim mail is at a destination that no longer has it).
func Start(ctx context.Context, st *store.Store) (*Demo, error) {
	return StartWith(ctx, st, Options{})
}

// StartWith is Start with a choice of destination (see Options).
func StartWith(ctx context.Context, st *store.Store, o Options) (*Demo, error) {
	switch o.Dest {
	case "", project.TypeEWS, project.TypeGraph:
	default:
		return nil, fmt.Errorf("demo: destination %q: want ews or graph", o.Dest)
	}
	old, exists, err := oldDemo(st)
	if err != nil {
		return nil, err
	}
	pw, err := newPasswords()
	if err != nil {
		return nil, err
	}
	d, err := startServers(o, pw)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	if err := d.fill(ctx); err != nil {
		return nil, err
	}
	switch {
	case o.BytesPerSecond == 0:
		d.Source.SetBytesPerSecond(DefaultBytesPerSecond)
	case o.BytesPerSecond > 0:
		d.Source.SetBytesPerSecond(o.BytesPerSecond)
	}
	p := d.newProject()
	support := map[string][]string{}
	if exists {
		if support, err = keepSettings(st, &p, old); err != nil {
			return nil, err
		}
	}
	n, err := saveProject(st, p, exists, pw, support)
	if err != nil {
		return nil, err
	}
	ok = true
	slog.Info("demo: started", "source", d.Source.Addr(), "dest", p.Dest.Type, "users", n)
	return d, nil
}

// fill fills the source mailboxes (Gmail-style for User.Gmail).
func (d *Demo) fill(ctx context.Context) error {
	for _, u := range Users {
		if !u.Gmail {
			if _, err := d.Source.Fill(ctx, u.Source, u.Spec); err != nil {
				return fmt.Errorf("demo: fill %s: %w", u.Source, err)
			}
			continue
		}
		if err := d.Source.GmailLayout(u.Source, memimap.GmailLabels(u.Spec)...); err != nil {
			return fmt.Errorf("demo: Gmail folders of %s: %w", u.Source, err)
		}
		if _, err := d.Source.FillGmail(ctx, u.Source, u.Spec); err != nil {
			return fmt.Errorf("demo: fill %s: %w", u.Source, err)
		}
	}
	return nil
}

// oldDemo returns the existing demo project, if any (exists false when
// there is none), and ErrNotDemo when "Demo" is the user's own project.
func oldDemo(st *store.Store) (old project.Project, exists bool, err error) {
	old, err = st.Project(ProjectName)
	exists = err == nil
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return old, false, fmt.Errorf("demo: %w", err)
	case exists && !old.Demo:
		return old, false, fmt.Errorf("demo: %w", ErrNotDemo)
	}
	return old, exists, nil
}

// passwords are a demo's fresh passwords: the source users' (by source
// address) and the destination admin's (or the Graph app's secret).
type passwords struct {
	src   map[string]string
	admin string
}

// newPasswords makes random passwords for every demo user and the admin.
func newPasswords() (passwords, error) {
	pw := passwords{src: map[string]string{}}
	var err error
	for _, u := range Users {
		if pw.src[u.Source], err = password(); err != nil {
			return pw, err
		}
	}
	if pw.admin, err = password(); err != nil {
		return pw, err
	}
	return pw, nil
}

// startServers starts the source server and the chosen destination
// emulator; on error nothing is left running.
func startServers(o Options, pw passwords) (*Demo, error) {
	var dstBoxes []string
	for _, u := range Users {
		dstBoxes = append(dstBoxes, u.Dest)
	}
	d := &Demo{Project: ProjectName}
	var err error
	// Gmail's behaviour (X-GM-EXT-1, SPECIAL-USE) for the Gmail-style user.
	if d.Source, err = memimap.NewWithOptions(memimap.Options{Users: pw.src, Gmail: true}); err != nil {
		return nil, fmt.Errorf("demo: source server: %w", err)
	}
	// HTTPS with a self-signed certificate that the project pins (the path
	// a real server with its own certificate takes).
	if o.Dest == project.TypeGraph {
		d.Graph, err = graphemu.New(graphemu.Options{
			Apps: []graphemu.App{{ClientID: GraphClientID, Secret: pw.admin,
				Roles: []string{graphemu.PermMailReadWrite, graphemu.PermMailAdvancedReadWrite}}},
			Mailboxes: dstBoxes,
			Logger:    slog.Default(),
		})
	} else {
		d.Dest, err = ewsemu.New(ewsemu.Options{
			Users:     []ewsemu.User{{Name: AdminUser, Password: pw.admin, Mailbox: AdminUser, FullAccess: dstBoxes}},
			Mailboxes: dstBoxes,
			Logger:    slog.Default(),
		})
	}
	if err != nil {
		d.Source.Close()
		return nil, fmt.Errorf("demo: destination server: %w", err)
	}
	if d.Outbox, err = outbox.New(); err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: outbox: %w", err)
	}
	return d, nil
}

// newProject is a fresh demo project whose endpoints point at d's servers
// (no secrets yet).
func (d *Demo) newProject() project.Project {
	p := project.Project{
		Name:     ProjectName,
		Customer: Customer,
		Demo:     true,
		Options:  demoOptions(),
		Source:   project.Endpoint{Type: project.TypeIMAP, Host: d.Source.Host, Port: d.Source.Port, Security: project.SecurityNone},
		SMTP:     project.SMTP{Host: d.Outbox.Host, Port: d.Outbox.Port, Security: project.SecurityNone, From: OutboxFrom},
	}
	if d.Graph != nil {
		p.Dest = project.Endpoint{Type: project.TypeGraph, Tenant: d.Graph.Tenant(), ClientID: GraphClientID,
			GraphURL: d.Graph.URL(), Authority: d.Graph.URL(), TrustFingerprint: tlstrust.Fingerprint(d.Graph.Certificate())}
	} else {
		p.Dest = project.Endpoint{Type: project.TypeEWS, URL: d.Dest.EWSURL(), TrustFingerprint: d.Dest.CertFingerprint(),
			AdminUser: AdminUser, Access: project.AccessDelegation}
	}
	return p
}

// demoOptions are a new demo project's options: the defaults with the
// demo's MaxItemSizeMB.
func demoOptions() project.Options {
	o := project.DefaultOptions()
	o.MaxItemSizeMB = MaxItemSizeMB
	return o
}

// keepSettings copies the old demo's options, SMTP settings, creation time
// and customer into p, and returns the old users' support options by
// user ID.
func keepSettings(st *store.Store, p *project.Project, old project.Project) (map[string][]string, error) {
	p.Options, p.Created = old.Options, old.Created
	if old.SMTP.Host != "" && old.SMTP.From != OutboxFrom {
		p.SMTP = old.SMTP // the admin's own server: kept
	}
	if old.Customer != "" {
		p.Customer = old.Customer
	}
	users, err := st.Users(ProjectName)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	support := map[string][]string{}
	for _, u := range users {
		support[u.ID()] = u.SupportOptions
	}
	return support, nil
}

// saveProject seals the passwords into st, then replaces the old demo
// project (when exists) with p and its users. On error the sealed secrets
// are deleted again. It returns the number of users saved.
func saveProject(st *store.Store, p project.Project, exists bool, pw passwords, support map[string][]string) (int, error) {
	var refs []string
	dropRefs := func() {
		for _, r := range refs {
			if err := st.DeleteSecret(r); err != nil && !errors.Is(err, store.ErrNotFound) {
				slog.Warn("demo: delete unused secret", "err", err)
			}
		}
	}
	aref, err := st.SetSecret([]byte(pw.admin))
	if err != nil {
		return 0, fmt.Errorf("demo: seal password: %w", err)
	}
	refs = append(refs, aref)
	if p.Dest.Type == project.TypeGraph {
		p.Dest.SecretRef = aref // the app's client secret
	} else {
		p.Dest.PasswordRef = aref
	}
	var users []project.User
	for _, u := range Users {
		sref, err := st.SetSecret([]byte(pw.src[u.Source]))
		if err != nil {
			dropRefs()
			return 0, fmt.Errorf("demo: seal password: %w", err)
		}
		refs = append(refs, sref)
		// No destination password: the admin writes every mailbox.
		nu := project.User{
			SourceEmail:       u.Source,
			SourceLogin:       u.Source,
			SourcePasswordRef: sref,
			DestEmail:         u.Dest,
			Status:            project.StatusNotSubmitted,
		}
		nu.SupportOptions = support[nu.ID()]
		users = append(users, nu)
	}
	if err := replaceProject(st, p, exists, users); err != nil {
		dropRefs()
		return 0, err
	}
	return len(users), nil
}

// replaceProject validates p, deletes the old demo project (when exists)
// and stores p with its users.
func replaceProject(st *store.Store, p project.Project, exists bool, users []project.User) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if exists {
		if err := st.DeleteProject(ProjectName); err != nil {
			return fmt.Errorf("demo: replace old demo project: %w", err)
		}
	}
	if err := st.CreateProject(p); err != nil {
		return fmt.Errorf("demo: create project: %w", err)
	}
	if err := st.PutUsers(ProjectName, users); err != nil {
		return fmt.Errorf("demo: users: %w", err)
	}
	return nil
}

// EnsureDemo starts the demo when the store has no project yet or already
// has the demo project; otherwise it returns (nil, nil) and touches
// nothing.
func EnsureDemo(ctx context.Context, st *store.Store) (*Demo, error) {
	return EnsureDemoWith(ctx, st, Options{})
}

// EnsureDemoWith is EnsureDemo with o's pace (o.Dest is ignored: the demo
// keeps the destination it was started with).
func EnsureDemoWith(ctx context.Context, st *store.Store, o Options) (*Demo, error) {
	ps, err := st.Projects()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if len(ps) > 0 {
		p, err := st.Project(ProjectName)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Demo) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		// The demo keeps the destination it was started with.
		return StartWith(ctx, st, Options{Dest: p.Dest.Type, BytesPerSecond: o.BytesPerSecond})
	}
	return StartWith(ctx, st, Options{BytesPerSecond: o.BytesPerSecond})
}

// password makes a random password for a demo mailbox.
func password() (string, error) {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: random password: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b)), nil
}
