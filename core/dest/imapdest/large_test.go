package imapdest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/testsrv"
)

// TestLargeMessageRoundTrip moves a 25 MB message (with small ones around
// it, so it is its own fetch chunk) from one server to another.
func TestLargeMessageRoundTrip(t *testing.T) {
	ctx := context.Background()
	sm := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	dm := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	c, err := imapclient.DialInsecure(sm.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for i, size := range []int{2000, 25 << 20, 3000} {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: big@example.com\r\nSubject: size %d\r\nMessage-ID: <%d@big>\r\n\r\n", size, i)
		line := bytes.Repeat([]byte("0123456789abcdef"), 4)
		for b.Len() < size {
			b.Write(line)
			b.WriteString("\r\n")
		}
		bodies = append(bodies, b.Bytes())
		cmd := c.Append("INBOX", int64(b.Len()), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)})
		cmd.Write(b.Bytes())
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	cred := imapconn.Credentials{User: "alice", Password: "pw"}
	src, err := source.DialIMAP(ctx, memEP(sm), cred, &source.IMAPOptions{ChunkBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := Dial(ctx, memEP(dm), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	_, n := copyAll(ctx, t, src, dst)
	if n != 3 {
		t.Fatalf("copied %d messages; want 3", n)
	}
	back, err := source.DialIMAP(ctx, memEP(dm), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	folders, _ := back.Folders(ctx)
	metas, _, err := back.List(ctx, folders[0], mailbox.Filter{})
	if err != nil || len(metas) != 3 {
		t.Fatalf("list back: %d %v", len(metas), err)
	}
	i := 0
	err = back.Fetch(ctx, folders[0], []uint32{metas[0].UID, metas[1].UID, metas[2].UID}, func(m mailbox.Message) error {
		if sha256.Sum256(m.Body) != sha256.Sum256(bodies[i]) {
			t.Errorf("message %d (%d bytes) differs", i, len(bodies[i]))
		}
		i++
		return nil
	})
	if err != nil || i != 3 {
		t.Fatalf("fetch back: %d %v", i, err)
	}
}
