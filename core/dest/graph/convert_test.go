package graph

import (
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
)

func src(raw string, flags ...string) *mailbox.Message {
	return &mailbox.Message{Meta: mailbox.Meta{Flags: flags, InternalDate: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}, Body: []byte(strings.ReplaceAll(raw, "\n", "\r\n"))}
}

func prop(g *gMessage, id string) (string, bool) {
	for _, p := range g.Props {
		if p.ID == id {
			return p.Value, true
		}
	}
	return "", false
}

func TestConvertOddMessages(t *testing.T) {
	cases := []struct {
		name  string
		raw   string
		check func(t *testing.T, g *gMessage)
	}{
		{"no headers", "\njust a body\n", func(t *testing.T, g *gMessage) {
			if g.From != nil || g.Subject != "" || !strings.Contains(g.Body.Content, "just a body") {
				t.Errorf("%+v", g)
			}
			// No Date header: the sent date falls back to INTERNALDATE.
			if v, _ := prop(g, propSubmitTime); v != "2020-01-02T03:04:05Z" {
				t.Errorf("sent %q", v)
			}
		}},
		{"bad addresses and date", "From: <<<broken\nTo: undisclosed-recipients:;\nDate: yesterday\nSubject: x\n\nbody\n", func(t *testing.T, g *gMessage) {
			if g.From != nil || len(g.To) != 0 || g.Subject != "x" {
				t.Errorf("%+v", g)
			}
		}},
		{"unknown charset", "Subject: =?x-unknown?Q?abc?=\nContent-Type: text/plain; charset=x-unknown\n\nbody\n", func(t *testing.T, g *gMessage) {
			if !strings.Contains(g.Body.Content, "body") {
				t.Errorf("%+v", g)
			}
		}},
		{"malformed header", "Subject: ok\nthis line has no colon\n\nbody\n", func(t *testing.T, g *gMessage) {
			if !strings.Contains(g.Body.Content, "body") {
				t.Errorf("%+v", g)
			}
		}},
		{"attached message", "Subject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--b--\n", func(t *testing.T, g *gMessage) {
			if len(g.Attachments) != 1 || !strings.HasSuffix(g.Attachments[0].Name, ".eml") || g.Attachments[0].ContentType != "message/rfc822" {
				t.Errorf("%+v", g.Attachments)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := convert(src(c.raw, `\Seen`), "c:k;n.0", false)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := prop(g, propMessageFlags); v != "1" || !g.IsRead {
				t.Errorf("flags %q", v)
			}
			if v, _ := prop(g, StampPropertyID); v != "c:k;n.0" {
				t.Errorf("stamp %q", v)
			}
			c.check(t, g)
		})
	}
}

func TestConvertDraftOnlyInDrafts(t *testing.T) {
	m := src("Subject: d\n\nx\n", `\Draft`)
	for _, inDrafts := range []bool{false, true} {
		g, err := convert(m, "s", inDrafts)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{false: "0", true: "8"}[inDrafts]
		if v, _ := prop(g, propMessageFlags); v != want {
			t.Errorf("inDrafts=%v: flags %q, want %q", inDrafts, v, want)
		}
	}
}

func TestRetryAfterAndRoles(t *testing.T) {
	if d := parseRetryAfter("7"); d != 7*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := parseRetryAfter(time.Now().Add(3 * time.Second).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")); d <= 0 || d > 4*time.Second {
		t.Errorf("date: %v", d)
	}
	// eyJ... = {"roles":["Mail.ReadWrite"]}
	if r := tokenRoles("e30.eyJyb2xlcyI6WyJNYWlsLlJlYWRXcml0ZSJdfQ.c2ln"); len(r) != 1 || r[0] != "Mail.ReadWrite" {
		t.Errorf("roles: %v", r)
	}
	if r := tokenRoles("opaque"); r != nil {
		t.Errorf("opaque roles: %v", r)
	}
}
