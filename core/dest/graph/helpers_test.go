package graph_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

const (
	upn      = "alice@contoso.example"
	clientID = "0a1b2c3d-1111-2222-3333-444455556666"
	secret   = "Xy8Q~secret-value"
)

type env struct {
	s  *graphsrv.Server
	ep project.Endpoint
}

func newEnv(t testing.TB, mailboxes ...string) *env {
	t.Helper()
	if len(mailboxes) == 0 {
		mailboxes = []string{upn}
	}
	s := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: clientID, Secret: secret}},
		Mailboxes: mailboxes,
	})
	return &env{s: s, ep: project.Endpoint{Type: project.TypeGraph, Tenant: s.Tenant(), ClientID: clientID}}
}

func (e *env) opts() graph.Options {
	return graph.Options{
		RootCAs: e.s.CertPool(), BaseURL: e.s.URL(), TokenURL: e.s.TokenURL(""),
		Retry: graph.RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		// Outlook's 150 MB per 5 minutes would make the large-message tests
		// wait minutes; TestMailboxBudgets tests the budgets themselves.
		UploadBudget: graph.Budget{N: 1 << 40, Window: time.Minute},
	}
}

func (e *env) dial(t testing.TB, mbx string) *graph.Destination {
	t.Helper()
	d, err := graph.Dial(context.Background(), e.ep, secret, mbx, e.opts())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// msg builds a source message from raw header lines and a body.
func msg(uid uint32, internal time.Time, flags []string, raw string) mailbox.Message {
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	hdr := func(k string) string {
		head, _, _ := strings.Cut(raw, "\r\n\r\n")
		for _, l := range strings.Split(head, "\r\n") {
			if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, k) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	m := mailbox.Message{
		Meta: mailbox.Meta{
			UID: uid, Size: int64(len(raw)), Flags: flags, InternalDate: internal,
			MessageID: hdr("Message-ID"), Date: hdr("Date"), From: hdr("From"), Subject: hdr("Subject"),
		},
		Key:  mailbox.SourceKey(7, uid),
		Body: []byte(raw),
	}
	m.ContentKey = m.Meta.ContentKey()
	return m
}

var t0 = time.Date(2023, 3, 14, 9, 26, 53, 0, time.UTC)

func plainMsg(uid uint32, flags ...string) mailbox.Message {
	return msg(uid, t0.Add(time.Duration(uid)*time.Hour), flags, fmt.Sprintf(`From: Bob Sender <bob@example.org>
To: Alice <alice@contoso.example>
Subject: Plain message %d
Date: Mon, 13 Mar 2023 10:00:00 +0100
Message-ID: <plain-%d@example.org>
Content-Type: text/plain; charset=utf-8

Hello Alice,
this is message %d.
`, uid, uid, uid))
}

func htmlMsg(uid uint32, pdf []byte, flags ...string) mailbox.Message {
	png := []byte("\x89PNG\r\n\x1a\nfake-image-bytes")
	return msg(uid, t0.Add(-48*time.Hour), flags, `From: "Carol" <carol@example.net>
To: alice@contoso.example, Dave <dave@example.com>
Cc: eve@example.com
Reply-To: replies@example.net
Subject: Quarterly report
Date: Sun, 12 Mar 2023 08:30:00 +0000
Message-ID: <report-1@example.net>
X-Priority: 1
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

See the report.
--alt
Content-Type: text/html; charset=utf-8

<html><body><p>See the <b>report</b>.</p><img src="cid:logo@example.net"></body></html>
--alt--
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@example.net>

`+base64.StdEncoding.EncodeToString(png)+`
--rel--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

`+base64.StdEncoding.EncodeToString(pdf)+`
--outer--
`)
}

func latinMsg(uid uint32, flags ...string) mailbox.Message {
	// Subject "Grüße aus Köln" in ISO-8859-1 (RFC 2047), body in windows-1252.
	return msg(uid, t0.Add(-72*time.Hour), flags, "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\n"+
		"To: alice@contoso.example\n"+
		"Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\n"+
		"Date: Sat, 11 Mar 2023 18:00:00 +0100\n"+
		"Message-ID: <latin-1@example.de>\n"+
		"Content-Type: text/plain; charset=windows-1252\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n"+
		"Sch=F6ne Gr=FC=DFe =80 100\n")
}

func put(t testing.TB, d *graph.Destination, f mailbox.FolderRef, msgs []mailbox.Message) []mailbox.Result {
	t.Helper()
	res, err := d.Put(context.Background(), f, msgs)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if len(res) != len(msgs) {
		t.Fatalf("Put: %d results for %d messages", len(res), len(msgs))
	}
	return res
}

func ensure(t testing.TB, d *graph.Destination, role string, path ...string) mailbox.FolderRef {
	t.Helper()
	f, err := d.EnsureFolder(context.Background(), path, role, true)
	if err != nil {
		t.Fatalf("EnsureFolder %v: %v", path, err)
	}
	return f
}
