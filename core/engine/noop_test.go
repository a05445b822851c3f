package engine

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
)

// recProxy forwards TCP to target and records what clients send.
type recProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	sent   bytes.Buffer
}

func startRecProxy(t *testing.T, target string) *recProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s, err := net.Dial("tcp", p.target)
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(c, s); c.Close() }()
				io.Copy(s, io.TeeReader(c, p))
				s.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *recProxy) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent.Write(b)
}

func (p *recProxy) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent.String()
}

// The source is only ever EXAMINEd and read with BODY.PEEK, and a no-op
// Full lists UIDs, flags and key headers on the source and never
// fetches a body; it does not even ask the destination what it holds.
func TestNoopFullFetchesNoBodies(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 200, Seed: 17, MaxSize: 8 << 10})
	sp, dp := startRecProxy(t, src.addr), startRecProxy(t, dst.addr)
	e := newEnv(t, server{addr: sp.addr(), users: src.users}, server{addr: dp.addr(), users: dst.users}, project.DefaultOptions(), "alice")
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 200 {
		t.Fatalf("first full %+v", s)
	}
	if !strings.Contains(sp.text(), "BODY.PEEK[]") {
		t.Fatalf("the recording misses the first pass's body fetches:\n%.2000s", sp.text())
	}
	for _, bad := range []string{" SELECT ", " STORE ", " EXPUNGE", " COPY ", " MOVE "} {
		if strings.Contains(strings.ToUpper(sp.text()), bad) {
			t.Errorf("the source was sent %q: it must only be EXAMINEd", bad)
		}
	}
	sp.mu.Lock()
	sp.sent.Reset()
	sp.mu.Unlock()
	dp.mu.Lock()
	dp.sent.Reset()
	dp.mu.Unlock()
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.Status != project.StatusCompleted {
		t.Fatalf("no-op full %+v", s)
	}
	srcCmds, dstCmds := strings.ToUpper(sp.text()), strings.ToUpper(dp.text())
	for _, bad := range []string{"BODY.PEEK[]", "BODY[]", "RFC822 ", "RFC822)", "RFC822.TEXT", "BODY.PEEK[TEXT]", " SELECT ", "STORE"} {
		if strings.Contains(srcCmds, bad) {
			t.Errorf("no-op pass sent %q to the source:\n%.3000s", bad, srcCmds)
		}
	}
	for _, bad := range []string{"APPEND", "FETCH"} {
		if strings.Contains(dstCmds, bad) {
			t.Errorf("no-op pass sent %q to the destination:\n%.3000s", bad, dstCmds)
		}
	}
}

func (p *recProxy) addr() string { return p.ln.Addr().String() }
