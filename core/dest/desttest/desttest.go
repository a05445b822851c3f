package desttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
)

// Stored is a message as the server holds it, read without the
// destination under test.
type Stored struct {
	MessageID     string // the Message-ID header, with its angle brackets
	Seen, Flagged bool
	// Received is the date the mailbox sorts by: IMAP's INTERNALDATE,
	// Exchange's received date.
	Received time.Time
}

// Target is one destination under test.
type Target struct {
	// Open opens the destination on the mailbox under test; the test
	// closes it. The suite opens it again to stand for a run that lost
	// its database: a new Destination with no memory of earlier ones.
	Open func(t *testing.T) mailbox.Destination
	// Read returns the messages of the folder ref points at, as the server
	// holds them.
	Read func(t *testing.T, ref mailbox.FolderRef) []Stored
}

// LargeSize is the size of the large message the suite writes.
const LargeSize = 25 << 20

// Run runs the suite against target, each part in its own folder below
// "Conformance".
func Run(t *testing.T, target Target) {
	t.Run("EnsureFolder", func(t *testing.T) { testEnsureFolder(t, target) })
	t.Run("PutFlagsDatesResults", func(t *testing.T) { testPut(t, target) })
	t.Run("PerItemFailure", func(t *testing.T) { testItemFailure(t, target) })
	t.Run("ExistingAfterDatabaseLoss", func(t *testing.T) { testExisting(t, target) })
	t.Run("LargeMessage", func(t *testing.T) { testLarge(t, target) })
	t.Run("IdempotentRerun", func(t *testing.T) { testRerun(t, target) })
}

func open(t *testing.T, target Target) mailbox.Destination {
	t.Helper()
	d := target.Open(t)
	t.Cleanup(func() { d.Close() })
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func ensure(t *testing.T, d mailbox.Destination, path ...string) mailbox.FolderRef {
	t.Helper()
	ref, err := d.EnsureFolder(ctx(t), path, "", true)
	if err != nil {
		t.Fatalf("EnsureFolder %q: %v", path, err)
	}
	if ref.ID == "" {
		t.Fatalf("EnsureFolder %q: empty folder id", path)
	}
	return ref
}

// put writes msgs and fails the test unless every message was written
// with its own result.
func put(t *testing.T, d mailbox.Destination, ref mailbox.FolderRef, msgs []mailbox.Message) []mailbox.Result {
	t.Helper()
	res, err := d.Put(ctx(t), ref, msgs)
	if err != nil {
		t.Fatalf("Put %d messages into %q: %v", len(msgs), ref.Path, err)
	}
	if len(res) != len(msgs) {
		t.Fatalf("Put %d messages: %d results", len(msgs), len(res))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Put: message %d (%s): %v", i, msgs[i].MessageID, r.Err)
		}
	}
	return res
}

// Message builds message i of a test the way a source hands it over:
// headers, size, content key and source key match the body, and the
// INTERNALDATE (whole seconds, UTC) differs from the Date header.
func Message(test string, i int, flags ...string) mailbox.Message {
	return messageWithBody(test, i, fmt.Sprintf("Hello,\r\nthis is message %d of %s — ça va ?\r\n", i, test), flags...)
}

func messageWithBody(test string, i int, text string, flags ...string) mailbox.Message {
	date := time.Date(2022, time.Month(1+i%12), 1+i%27, 9, 15, 0, 0, time.FixedZone("", 3600))
	id := fmt.Sprintf("<%s-%d@conformance.example>", strings.ToLower(test), i)
	subject := fmt.Sprintf("%s message %d", test, i)
	from := "Sender <sender@example.org>"
	head := fmt.Sprintf("From: %s\r\nTo: Owner <owner@example.net>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
		from, subject, date.Format(time.RFC1123Z), id)
	body := head + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text
	m := mailbox.Message{
		Meta: mailbox.Meta{
			UID: uint32(i + 1), Size: int64(len(body)), Flags: flags,
			InternalDate: date.Add(-time.Duration(i+1) * time.Hour).UTC(),
			MessageID:    id, Date: date.Format(time.RFC1123Z), From: from, Subject: subject,
		},
		Key:  mailbox.SourceKey(42, uint32(i+1)),
		Body: []byte(body),
	}
	m.ContentKey = m.Meta.ContentKey()
	return m
}

// largeMessage is a LargeSize message: a short text and a PDF attachment.
func largeMessage(test string) mailbox.Message {
	m := Message(test, 0)
	head, _, _ := bytes.Cut(m.Body, []byte("Content-Type: text/plain"))
	var b bytes.Buffer
	b.Write(head)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report is attached.\r\n" +
		"--b1\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	chunk := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 large report data "), 3))[:76]
	for b.Len() < LargeSize-200 {
		b.WriteString(chunk)
		b.WriteString("\r\n")
	}
	b.WriteString("--b1--\r\n")
	m.Body = b.Bytes()
	m.Size = int64(len(m.Body))
	m.ContentKey = m.Meta.ContentKey()
	return m
}

// byMessageID indexes what Read returned, failing on a message stored
// twice.
func byMessageID(t *testing.T, stored []Stored) map[string]Stored {
	t.Helper()
	out := map[string]Stored{}
	for _, s := range stored {
		if _, dup := out[s.MessageID]; dup {
			t.Errorf("message %s is stored twice", s.MessageID)
		}
		out[s.MessageID] = s
	}
	return out
}

// missing is the messages of msgs that existing does not account for
// (what the engine writes after asking Existing).
func missing(msgs []mailbox.Message, existing map[mailbox.ContentKey]int) []mailbox.Message {
	left := map[mailbox.ContentKey]int{}
	for k, n := range existing {
		left[k] = n
	}
	var out []mailbox.Message
	for _, m := range msgs {
		if left[m.ContentKey] > 0 {
			left[m.ContentKey]--
			continue
		}
		out = append(out, m)
	}
	return out
}
