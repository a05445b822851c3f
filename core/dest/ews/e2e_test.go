package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"

	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"

	"github.com/mailferry/mailferry/core/dest/ews/autodiscover"
	"github.com/mailferry/mailferry/core/dest/ews/ntlm"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

const (
	aliceAddr = "alice@example.net"
	bobAddr   = "bob@example.net"
	stampProp = "guid:" + StampPropertySetID + "/name:" + StampPropertyName
)

// emulator starts the EWS emulator: admin has FullAccess on alice, svc
// (no mailbox) may impersonate everyone, bob is a plain user.
func emulator(t testing.TB, mod func(*ewsemu.Options)) *ewsemu.Server {
	t.Helper()
	o := ewsemu.Options{
		Users: []ewsemu.User{
			{Name: "admin", Password: "Adm1n!pw", Mailbox: "admin@example.net", FullAccess: []string{aliceAddr}},
			{Name: "svc", Password: "Svc-pw-1", Impersonate: []string{"*"}},
			{Name: "bob", Password: "bøb-pw", Mailbox: bobAddr},
		},
		Mailboxes: []string{aliceAddr},
		DNSNames:  []string{"example.net", "autodiscover.example.net", "mail.example.net"},
	}
	if mod != nil {
		mod(&o)
	}
	return ewssrv.Start(t, o)
}

func fastRetry() RetryPolicy {
	return RetryPolicy{BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxBackOff: 2 * time.Second}
}

func opts(s *ewsemu.Server) Options {
	return Options{RootCAs: s.CertPool(), Retry: fastRetry()}
}

func dial(t testing.TB, s *ewsemu.Server, ep project.Endpoint, c Credentials, o Options) *Destination {
	t.Helper()
	ep.Type = project.TypeEWS
	if ep.URL == "" && ep.OWAURL == "" && ep.AutodiscoverEmail == "" {
		ep.URL = s.EWSURL()
	}
	d, err := Dial(context.Background(), ep, c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// rfc822 builds a source message as an IMAP source would hand it over.
func rfc822(i int, flags ...string) mailbox.Message {
	date := time.Date(2023, 5, 1+i%27, 10, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	body := fmt.Sprintf("Return-Path: <carol@example.org>\r\nFrom: Carol <carol@example.org>\r\nTo: Alice <alice@example.net>\r\n"+
		"Subject: =?UTF-8?Q?R=C3=A9union_%d?=\r\nDate: %s\r\nMessage-ID: <m%d@example.org>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nBonjour n°%d — ça va ?\r\n", i, date.Format(time.RFC1123Z), i, i)
	m := mailbox.Message{Body: []byte(body)}
	m.Flags = flags
	m.Size = int64(len(body))
	m.InternalDate = date.Add(3 * time.Minute).Truncate(time.Second)
	m.Date = date.Format(time.RFC1123Z)
	m.MessageID = fmt.Sprintf("<m%d@example.org>", i)
	m.From = "Carol <carol@example.org>"
	m.Subject = fmt.Sprintf("=?UTF-8?Q?R=C3=A9union_%d?=", i)
	m.ContentKey = m.Meta.ContentKey()
	m.Key = mailbox.SourceKey(1, uint32(i+1))
	return m
}

func checkResults(t *testing.T, res []mailbox.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
}

// TestPutReadBackDelegation writes through delegation and reads back what
// the emulator stored: MIME bytes, read state, not-a-draft, dates, flag,
// stamp; then Existing counts the stamps.
func TestPutReadBackDelegation(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation, Auth: "basic"},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))

	inbox, err := d.EnsureFolder(ctx, []string{"INBOX"}, mailbox.RoleInbox, true)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []mailbox.Message{rfc822(0, `\Seen`, `\Flagged`), rfc822(1), rfc822(2, `\Seen`, `\Answered`), rfc822(3, `\Draft`)}
	res, err := d.Put(ctx, inbox, msgs)
	checkResults(t, res, err)

	items := s.Items(aliceAddr, []string{"inbox"})
	if len(items) != len(msgs) {
		t.Fatalf("inbox holds %d items, want %d", len(items), len(msgs))
	}
	byID := map[string]ewsemu.StoredItem{}
	for _, it := range items {
		byID[it.ID] = it
	}
	for i, m := range msgs {
		it, ok := byID[res[i].DestID]
		if !ok {
			t.Fatalf("message %d: DestID %q not stored", i, res[i].DestID)
		}
		if !bytes.Equal(it.MIME, m.Body) {
			t.Errorf("message %d: MIME differs", i)
		}
		if it.IsRead != m.HasFlag(`\Seen`) {
			t.Errorf("message %d: IsRead %v", i, it.IsRead)
		}
		if it.IsDraft {
			t.Errorf("message %d: stored as a draft (flags %#x)", i, it.MessageFlags)
		}
		if !it.DateTimeReceived.Equal(m.InternalDate) {
			t.Errorf("message %d: received %v, want INTERNALDATE %v", i, it.DateTimeReceived, m.InternalDate)
		}
		sent, _ := time.Parse(time.RFC1123Z, m.Date)
		if !it.DateTimeSent.Equal(sent) {
			t.Errorf("message %d: sent %v, want Date header %v", i, it.DateTimeSent, sent)
		}
		if want := map[bool]int32{true: 2, false: 0}[m.HasFlag(`\Flagged`)]; it.FlagStatus != want {
			t.Errorf("message %d: flag status %d, want %d", i, it.FlagStatus, want)
		}
		if mailbox.StampKey(it.ExtendedProps[stampProp]) != m.ContentKey {
			t.Errorf("message %d: stamp %q, want content key %s", i, it.ExtendedProps[stampProp], m.ContentKey)
		}
	}
	if v := byID[res[2].DestID].ExtendedProps["tag:0x1081"]; v != "102" && v != "" {
		t.Errorf("\\Answered: PR_LAST_VERB_EXECUTED = %q", v)
	}

	ex, err := d.Existing(ctx, inbox)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if ex[m.ContentKey] != 1 {
			t.Errorf("Existing[%d] = %d, want 1", i, ex[m.ContentKey])
		}
	}

	// A draft in Drafts stays a draft.
	drafts, err := d.EnsureFolder(ctx, []string{"Drafts"}, mailbox.RoleDrafts, true)
	if err != nil {
		t.Fatal(err)
	}
	res, err = d.Put(ctx, drafts, []mailbox.Message{rfc822(9, `\Draft`, `\Seen`)})
	checkResults(t, res, err)
	if it := s.Items(aliceAddr, []string{"drafts"}); len(it) != 1 || !it[0].IsDraft {
		t.Errorf("draft in Drafts: %+v", it)
	}
	// The emulator validated every request against the EWS schema.
	if st := s.Stats(); st.SchemaRejected != 0 {
		t.Errorf("%d requests failed the emulator's schema validation", st.SchemaRejected)
	}
}

func TestEnsureFolderTree(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	a, err := d.EnsureFolder(ctx, []string{"Projects", "2024", "Q1"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := d.EnsureFolder(ctx, []string{"INBOX", "Receipts"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.EnsureFolder(ctx, []string{"Sent"}, mailbox.RoleSent, true); err != nil {
		t.Fatal(err)
	}
	sent2019, err := d.EnsureFolder(ctx, []string{"Sent", "2019"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	// Calendar is not a mail folder: mail goes to "Calendar (mail)".
	cal, err := d.EnsureFolder(ctx, []string{"calendar"}, "", true)
	if err != nil {
		t.Fatal(err)
	}

	// A second Destination (no cache) finds the same folders, ignoring case.
	d2 := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	b, err := d2.EnsureFolder(ctx, []string{"PROJECTS", "2024", "q1"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Errorf("same folder, different ids: %s / %s", a.ID, b.ID)
	}
	if sub2, _ := d2.EnsureFolder(ctx, []string{"inbox", "receipts"}, "", true); sub2.ID != sub.ID {
		t.Errorf("INBOX/Receipts: %s vs %s", sub2.ID, sub.ID)
	}
	paths := map[string]bool{}
	for _, p := range s.FolderPaths(aliceAddr) {
		paths[strings.ToLower(strings.Join(p, "/"))] = true
	}
	for _, want := range []string{"projects/2024/q1", "inbox/receipts", "sent items/2019", "calendar (mail)"} {
		if !paths[want] {
			t.Errorf("folder %q missing; have %v", want, paths)
		}
	}
	n := 0
	for p := range paths {
		if strings.HasPrefix(p, "projects") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d Projects folders, want 3 (no duplicates)", n)
	}
	if sent2019.ID == "" || cal.ID == "" {
		t.Error("empty folder ids")
	}

	// d has the tree cached; d2 creates a folder behind its back. d's
	// CreateFolder then gets ErrorFolderExists and re-finds the folder.
	made, err := d2.EnsureFolder(ctx, []string{"Projects", "Late"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	s.ResetStats()
	again, err := d.EnsureFolder(ctx, []string{"projects", "LATE"}, "", true)
	if err != nil {
		t.Fatalf("ErrorFolderExists not handled: %v", err)
	}
	if st := s.Stats(); st.Requests["CreateFolder"] != 1 || st.Requests["FindFolder"] != 1 {
		t.Errorf("want one refused CreateFolder and one re-listing FindFolder, got %v", st.Requests)
	}
	if again.ID != made.ID {
		t.Errorf("re-found %s, created %s", again.ID, made.ID)
	}
}

func TestImpersonationAndRights(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	d := dial(t, s, project.Endpoint{AdminUser: "svc", Access: project.AccessImpersonation, Auth: "basic"},
		Credentials{User: "svc", Password: "Svc-pw-1", Mailbox: bobAddr}, opts(s))
	f, err := d.EnsureFolder(ctx, []string{"Archive"}, mailbox.RoleArchive, true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Put(ctx, f, []mailbox.Message{rfc822(1, `\Seen`)})
	checkResults(t, res, err)
	if it := s.Items(bobAddr, []string{"Archive"}); len(it) != 1 || !it[0].IsRead {
		t.Fatalf("bob's Archive: %+v", it)
	}

	// admin has no FullAccess on bob: delegation is refused.
	bad := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: bobAddr}, opts(s))
	if _, err := bad.EnsureFolder(ctx, []string{"X"}, "", true); err == nil {
		t.Fatal("delegation without FullAccess worked")
	}
	// Per-user credentials (no admin).
	own := dial(t, s, project.Endpoint{}, Credentials{User: "bob", Password: "bøb-pw"}, opts(s))
	if _, err := own.EnsureFolder(ctx, []string{"Own"}, "", true); err != nil {
		t.Fatalf("own credentials: %v", err)
	}
	// Wrong password.
	wrong := dial(t, s, project.Endpoint{}, Credentials{User: "bob", Password: "nope"}, opts(s))
	if _, err := wrong.EnsureFolder(ctx, []string{"Own"}, "", true); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestNTLMExtendedProtection(t *testing.T) {
	s := emulator(t, func(o *ewsemu.Options) { o.RequireEPA = true; o.DisableBasic = true })
	ctx := context.Background()
	if got, want := ntlm.ChannelBindingHash(s.Certificate()), s.ChannelBinding(); !bytes.Equal(got, want) {
		t.Fatalf("channel binding %x, the emulator expects %x", got, want)
	}
	for _, method := range []string{"ntlm", ""} {
		d := dial(t, s, project.Endpoint{AdminUser: `EXAMPLE\admin`, Access: project.AccessDelegation, Auth: method},
			Credentials{User: `EXAMPLE\admin`, Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
		f, err := d.EnsureFolder(ctx, []string{"NTLM " + method}, "", true)
		if err != nil {
			t.Fatalf("auth %q: %v", method, err)
		}
		res, err := d.Put(ctx, f, []mailbox.Message{rfc822(1), rfc822(2)})
		checkResults(t, res, err)
		if got := d.auth.method(); got != "ntlm" {
			t.Errorf("auth %q: method in use %q", method, got)
		}
	}
	r := Test(ctx, project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessDelegation, Auth: "ntlm"},
		Credentials{User: "admin", Password: "wrong", Mailbox: aliceAddr}, opts(s))
	if r.OK || r.AuthOK {
		t.Errorf("wrong NTLM password: %+v", r)
	}
	r = Test(ctx, project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	if !r.OK || r.AuthMethod != "ntlm" {
		t.Errorf("endpoint test, auto auth: %s", r)
	}

	// Without the channel binding (go-ntlmssp) the emulator refuses, as
	// Exchange 2019 CU14+ with Extended Protection does.
	// (and accepts it when Extended Protection is off: the only difference).
	noEPA := emulator(t, func(o *ewsemu.Options) { o.DisableBasic = true })
	for srv, want := range map[*ewsemu.Server]int{s: http.StatusUnauthorized, noEPA: http.StatusOK} {
		plain := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool()}}}}
		body := envelope(header{}, func(w *xw) {
			w.WriteString(`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/></m:ParentFolderIds></m:FindFolder>`)
		})
		req, _ := http.NewRequest(http.MethodPost, srv.EWSURL(), bytes.NewReader(body))
		req.SetBasicAuth("admin", "Adm1n!pw")
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("go-ntlmssp (no channel binding), EPA=%v: HTTP %d, want %d", srv == s, resp.StatusCode, want)
		}
	}
}

func TestThrottlingObeyed(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	o := opts(s)
	o.MaxConcurrency = 8
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	f, err := d.EnsureFolder(ctx, []string{"Throttled"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	cases := []ewsemu.Throttle{
		{Kind: ewsemu.ThrottleServerBusyFault, Count: 3, BackOff: 60 * time.Millisecond},
		{Kind: ewsemu.ThrottleServerBusyItems, Count: 2, BackOff: 60 * time.Millisecond, Operations: []string{"CreateItem"}},
		{Kind: ewsemu.ThrottleHTTP503, Count: 1, BackOff: time.Second},
		{Kind: ewsemu.ThrottleHTTP429, Count: 2},
	}
	n := 0
	for _, c := range cases {
		s.SetThrottle(c)
		s.ResetStats()
		var msgs []mailbox.Message
		for i := 0; i < 6; i++ {
			msgs = append(msgs, rfc822(100*n+i))
		}
		n++
		start := time.Now()
		res, err := d.Put(ctx, f, msgs)
		checkResults(t, res, err)
		took := time.Since(start)
		st := s.Stats()
		if st.Throttled == 0 {
			t.Errorf("kind %v: server throttled nothing", c.Kind)
		}
		if c.BackOff > 0 && took < c.BackOff {
			t.Errorf("kind %v: finished in %v, before the server's back-off of %v", c.Kind, took, c.BackOff)
		}
		if _, cuts := d.lim.State(); cuts == 0 {
			t.Errorf("kind %v: the limiter never shrank", c.Kind)
		}
	}
	s.SetThrottle(ewsemu.Throttle{})
	if got := len(s.Items(aliceAddr, []string{"Throttled"})); got != 6*len(cases) {
		t.Errorf("%d items stored, want %d (no duplicates, none lost)", got, 6*len(cases))
	}
}

func TestConnectionCutNoDuplicates(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	o := opts(s)
	o.Limits.BatchSize = 5
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	f, err := d.EnsureFolder(ctx, []string{"Cut"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []bool{true, false} {
		s.SetCut(ewsemu.Cut{Every: 2, AfterProcessing: after, Count: 3})
		var msgs []mailbox.Message
		for i := 0; i < 20; i++ {
			msgs = append(msgs, rfc822(i+map[bool]int{true: 0, false: 100}[after]))
		}
		res, err := d.Put(ctx, f, msgs)
		checkResults(t, res, err)
		if st := s.Stats(); st.Cut == 0 {
			t.Errorf("after=%v: no connection was cut", after)
		}
	}
	s.SetCut(ewsemu.Cut{})
	items := s.Items(aliceAddr, []string{"Cut"})
	seen := map[string]int{}
	for _, it := range items {
		seen[string(mailbox.StampKey(it.ExtendedProps[stampProp]))]++
	}
	if len(items) != 40 || len(seen) != 40 {
		t.Errorf("%d items, %d distinct keys; want 40 and 40", len(items), len(seen))
	}
	ex, err := d.Existing(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range ex {
		if n != 1 {
			t.Errorf("key %s stored %d times", k, n)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	s.SetMaxItemSize(4000)
	o := opts(s)
	o.Limits.MaxItemSize = 100 << 10
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	f, err := d.EnsureFolder(ctx, []string{"Big"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	big := rfc822(1)
	big.Body = append(big.Body[:len(big.Body):len(big.Body)], bytes.Repeat([]byte("0123456789abcdef\r\n"), 400)...)
	huge := rfc822(2)
	huge.Body = append(huge.Body[:len(huge.Body):len(huge.Body)], bytes.Repeat([]byte("x"), 200<<10)...)
	res, err := d.Put(ctx, f, []mailbox.Message{rfc822(0), big, huge, rfc822(3)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[3].Err != nil {
		t.Fatalf("small messages failed: %v / %v", res[0].Err, res[3].Err)
	}
	var ie *mailbox.ItemError
	if !errors.As(res[1].Err, &ie) || !strings.Contains(ie.Reason, "ErrorMessageSizeExceeded") || !ie.Permanent || ie.Hint == "" {
		t.Errorf("server size limit: %#v", res[1].Err)
	}
	if !errors.As(res[2].Err, &ie) || !strings.Contains(ie.Reason, "item size limit of 100.0 KB") || !ie.Permanent {
		t.Errorf("local size limit: %#v", res[2].Err)
	}
	if n := len(s.Items(aliceAddr, []string{"Big"})); n != 2 {
		t.Errorf("%d items stored, want 2", n)
	}
}

// redirector maps every host name to the emulator: port 443 → its TLS
// listener, port 80 → its plain listener; names in down refuse.
func redirector(s *ewsemu.Server, down ...string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		for _, d := range down {
			if strings.EqualFold(host, d) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused (test)")}
			}
		}
		target := s.Addr()
		if port == "80" {
			target = strings.TrimPrefix(s.PlainURL(), "http://")
		}
		var dd net.Dialer
		return dd.DialContext(ctx, network, target)
	}
}

func TestAutodiscoverCandidates(t *testing.T) {
	s := emulator(t, func(o *ewsemu.Options) { o.PlainHTTP = true })
	s.SetPublicURL("https://mail.example.net")
	ctx := context.Background()
	srv := func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
		return "", []*net.SRV{{Target: "mail.example.net.", Port: 443, Priority: 0, Weight: 10}}, nil
	}
	cases := []struct {
		down       []string
		noRedirect bool
		want       string // method that worked
	}{
		{nil, false, autodiscover.MethodDomain},
		{[]string{"example.net"}, false, autodiscover.MethodAutodiscover},
		{[]string{"example.net", "autodiscover.example.net:443"}, false, autodiscover.MethodRedirectURL},
		{[]string{"example.net", "autodiscover.example.net"}, false, autodiscover.MethodSRV},
	}
	for _, c := range cases {
		o := opts(s)
		// "host:443" in down blocks only TLS; plain "host" blocks both.
		var hosts []string
		tlsOnly := map[string]bool{}
		for _, h := range c.down {
			if hh, ok := strings.CutSuffix(h, ":443"); ok {
				tlsOnly[hh] = true
				continue
			}
			hosts = append(hosts, h)
		}
		base := redirector(s, hosts...)
		o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if port == "443" && tlsOnly[host] {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused (test)")}
			}
			return base(ctx, network, addr)
		}
		o.LookupSRV = srv
		d := dial(t, s, project.Endpoint{AutodiscoverEmail: aliceAddr, AdminUser: "admin", Access: project.AccessDelegation},
			Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
		if d.URL() != "https://mail.example.net/EWS/Exchange.asmx" {
			t.Errorf("down=%v: URL %s", c.down, d.URL())
		}
		var worked []string
		for _, a := range d.Attempts() {
			if a.OK {
				worked = append(worked, a.Method)
			}
		}
		if c.want == autodiscover.MethodRedirectURL {
			// The unauthenticated GET found the 302, then the POST worked.
			if len(worked) == 2 && worked[0] == autodiscover.MethodRedirect {
				worked = worked[1:]
			}
		}
		if len(worked) != 1 || worked[0] != c.want {
			t.Errorf("down=%v: worked %v, want %s; attempts %v", c.down, worked, c.want, d.Attempts())
		}
		if _, err := d.EnsureFolder(ctx, []string{"Via autodiscover"}, "", true); err != nil {
			t.Errorf("down=%v: using the discovered URL: %v", c.down, err)
		}
	}
	// Nothing reachable: an error listing every candidate.
	o := opts(s)
	o.DialContext = redirector(s, "example.net", "autodiscover.example.net", "mail.example.net")
	o.LookupSRV = srv
	_, err := Dial(ctx, project.Endpoint{Type: project.TypeEWS, AutodiscoverEmail: aliceAddr}, Credentials{User: "admin", Password: "Adm1n!pw"}, o)
	if !errors.Is(err, autodiscover.ErrNotFound) {
		t.Errorf("all down: %v", err)
	}
}

func TestEndpointTestReport(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	ep := project.Endpoint{Type: project.TypeEWS, OWAURL: s.URL() + "/owa/", AdminUser: "admin", Access: project.AccessDelegation}
	r := Test(ctx, ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	if !r.OK || r.Err != nil {
		t.Fatalf("report: %+v", r)
	}
	if r.URL != s.EWSURL() || r.CertFingerprint != s.CertFingerprint() || !r.CertTrusted || !r.AuthOK {
		t.Errorf("report: %+v", r)
	}
	if r.Version.MajorVersion == 0 {
		t.Errorf("no ServerVersionInfo: %+v", r.Version)
	}
	if r.Delegation == nil || r.Delegation.Err != nil || r.Impersonation == nil || r.Impersonation.Err == nil {
		t.Errorf("access modes: delegation %+v impersonation %+v", r.Delegation, r.Impersonation)
	}
	if out := r.String(); !strings.Contains(out, s.CertFingerprint()) || !strings.Contains(out, "delegation to "+aliceAddr+": ok") || !strings.Contains(out, "result: OK") {
		t.Errorf("report text:\n%s", out)
	}
	t.Logf("endpoint test report:\n%s", r)

	// Untrusted certificate: reported with its fingerprint; pinning it works.
	o := opts(s)
	o.RootCAs = nil
	r = Test(ctx, ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	if r.OK || r.CertFingerprint != s.CertFingerprint() || r.CertTrusted {
		t.Errorf("untrusted: %+v", r)
	}
	ep.TrustFingerprint = strings.ToUpper(s.CertFingerprint())
	r = Test(ctx, ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	if !r.OK || !r.CertTrusted {
		t.Errorf("pinned: %+v", r)
	}
	ep.TrustFingerprint = strings.Repeat("ab", 32)
	if _, err := dial(t, s, ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o).EnsureFolder(ctx, []string{"x"}, "", true); err == nil {
		t.Error("a wrong pin was accepted")
	}
	// Impersonation configured but not granted to admin.
	ep = project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessImpersonation}
	r = Test(ctx, ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	if r.OK || r.Err == nil || !strings.Contains(r.Err.Error(), "ApplicationImpersonation") {
		t.Errorf("impersonation without the role: %+v", r.Err)
	}
}

// TestFaultsRetried: bare HTTP 500s are retried for FindItem, and for
// CreateItem (outcome unknown) lead to a stamp check, then a resend.
func TestFaultsRetried(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
	f, err := d.EnsureFolder(ctx, []string{"Faults"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	s.SetThrottle(ewsemu.Throttle{Kind: ewsemu.ThrottleHTTP500, Count: 2})
	res, err := d.Put(ctx, f, []mailbox.Message{rfc822(1), rfc822(2)})
	checkResults(t, res, err)
	s.SetThrottle(ewsemu.Throttle{Kind: ewsemu.ThrottleHTTP500, Count: 2, Operations: []string{"FindItem"}})
	ex, err := d.Existing(ctx, f)
	if err != nil || len(ex) != 2 {
		t.Fatalf("Existing after 500s: %v %v", ex, err)
	}
	if n := len(s.Items(aliceAddr, []string{"Faults"})); n != 2 {
		t.Errorf("%d items, want 2", n)
	}
	// Too many faults: the batch fails as a whole, with the cause.
	s.SetThrottle(ewsemu.Throttle{Kind: ewsemu.ThrottleHTTP500})
	if _, err := d.Put(ctx, f, []mailbox.Message{rfc822(3)}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("persistent 500: %v", err)
	}
}

func TestAutodiscoverRedirects(t *testing.T) {
	s := emulator(t, func(o *ewsemu.Options) { o.PlainHTTP = true })
	s.SetPublicURL("https://mail.example.net")
	ctx := context.Background()
	o := opts(s)
	o.DialContext = redirector(s)
	o.LookupSRV = func(context.Context, string, string, string) (string, []*net.SRV, error) {
		return "", nil, errors.New("no SRV")
	}
	// redirectAddr: old@example.net → alice@example.net.
	s.SetAutodiscoverRedirect("old@example.net", aliceAddr)
	d := dial(t, s, project.Endpoint{AutodiscoverEmail: "old@example.net"}, Credentials{User: "admin", Password: "Adm1n!pw"}, o)
	if d.URL() != "https://mail.example.net/EWS/Exchange.asmx" {
		t.Errorf("after redirectAddr: %s (%v)", d.URL(), d.Attempts())
	}
	// The HTTP redirect method never follows a redirect to plain http.
	o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "autodiscover.example.net:443") {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("refused (test)")}
		}
		return redirector(s, "example.net")(ctx, network, addr)
	}
	s.SetAutodiscoverHTTPRedirect("http://evil.example.net/autodiscover/autodiscover.xml")
	r := Test(ctx, project.Endpoint{Type: project.TypeEWS, AutodiscoverEmail: aliceAddr}, Credentials{User: "admin", Password: "Adm1n!pw"}, o)
	if r.OK || !errors.Is(r.Err, autodiscover.ErrNotFound) {
		t.Fatalf("redirect to http: %v", r.Err)
	}
	refused := false
	for _, a := range r.Attempts {
		if a.Method == autodiscover.MethodRedirect && a.Err != nil && strings.Contains(a.Err.Error(), "only https") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("attempts: %v", r.Attempts)
	}
}

// TestPaging uses tiny pages so that Existing and the folder tree need
// several FindItem / FindFolder requests.
func TestPaging(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	o := opts(s)
	o.PageSize = 3
	d := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	for i := 0; i < 5; i++ {
		if _, err := d.EnsureFolder(ctx, []string{"Tree", fmt.Sprint("F", i)}, "", true); err != nil {
			t.Fatal(err)
		}
	}
	f, err := d.EnsureFolder(ctx, []string{"Paged"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []mailbox.Message
	for i := 0; i < 10; i++ {
		msgs = append(msgs, rfc822(i))
	}
	msgs = append(msgs, rfc822(3)) // the same message twice in the source
	res, err := d.Put(ctx, f, msgs)
	checkResults(t, res, err)
	s.ResetStats()
	ex, err := d.Existing(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 10 || ex[msgs[3].ContentKey] != 2 {
		t.Errorf("Existing: %d keys, duplicate counted %d", len(ex), ex[msgs[3].ContentKey])
	}
	if n := s.Stats().Requests["FindItem"]; n < 4 {
		t.Errorf("%d FindItem pages for 11 items at 3 per page", n)
	}
	d2 := dial(t, s, project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	s.ResetStats()
	if _, err := d2.EnsureFolder(ctx, []string{"tree", "f4"}, "", true); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Requests["CreateFolder"] != 0 || st.Requests["FindFolder"] < 3 {
		t.Errorf("paged tree: %v", st.Requests)
	}
}

// TestExchangeOnlineRefused: an EWS URL on outlook.office365.com, or an
// Autodiscover answer landing there, is reported as Exchange Online with
// the retirement explanation (the faces then offer Graph); hosted servers
// are not.
func TestExchangeOnlineRefused(t *testing.T) {
	ctx := context.Background()
	r := Test(ctx, project.Endpoint{Type: project.TypeEWS, URL: "https://outlook.office365.com/EWS/Exchange.asmx"},
		Credentials{User: "admin@contoso.com", Password: "x"}, Options{})
	if r.OK || !r.ExchangeOnline || r.Err == nil || !strings.Contains(r.Err.Error(), "1 April 2027") {
		t.Errorf("EWS URL on Exchange Online: %+v", r)
	}
	s := emulator(t, func(o *ewsemu.Options) { o.PlainHTTP = true })
	s.SetPublicURL("https://outlook.office365.com")
	o := opts(s)
	o.DialContext = redirector(s)
	r = Test(ctx, project.Endpoint{Type: project.TypeEWS, AutodiscoverEmail: aliceAddr, AdminUser: "admin", Access: project.AccessDelegation},
		Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, o)
	if r.OK || !r.ExchangeOnline || r.URL != "https://outlook.office365.com/EWS/Exchange.asmx" {
		t.Errorf("Autodiscover landing on Exchange Online: URL %s, EXO %v, err %v", r.URL, r.ExchangeOnline, r.Err)
	}
	for u, want := range map[string]bool{
		"https://outlook.office365.com/EWS/Exchange.asmx": true,
		"https://OUTLOOK.OFFICE.COM/owa":                  true,
		"https://mex09.emailsrvr.com/EWS/Exchange.asmx":   false,
		"https://mail.example.com/EWS/Exchange.asmx":      false,
	} {
		if IsExchangeOnline(u) != want {
			t.Errorf("IsExchangeOnline(%s) != %v", u, want)
		}
	}
}
