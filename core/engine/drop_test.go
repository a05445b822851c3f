package engine

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
)

// dropProxy forwards TCP to target and cuts a connection each time another
// `every` bytes have gone from clients to the server, `kills` times in all:
// a server or network that drops connections mid-command.
type dropProxy struct {
	ln     net.Listener
	target string
	every  int64
	// replies: count and cut server→client bytes (the server did the
	// work, the client never hears of it) instead of client→server.
	replies bool
	kills   atomic.Int32
	sent    atomic.Int64
	killed  atomic.Int32
	wg      sync.WaitGroup
}

func startDropProxy(t *testing.T, target string, every int64, kills int32, replies bool) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target, every: every, replies: replies}
	p.kills.Store(kills)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *dropProxy) serve(c net.Conn) {
	defer p.wg.Done()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	var once sync.Once
	kill := func() { once.Do(func() { c.Close(); s.Close() }) }
	defer kill()
	from, to := net.Conn(c), net.Conn(s)
	if p.replies {
		from, to = s, c
		go func() { io.Copy(s, c); kill() }()
	} else {
		go func() { io.Copy(c, s); kill() }()
	}
	buf := make([]byte, 16<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			before := p.sent.Add(int64(n)) - int64(n)
			if before/p.every != (before+int64(n))/p.every && p.kills.Add(-1) >= 0 {
				// Forward part of the chunk, then cut mid-command.
				to.Write(buf[:n/2])
				p.killed.Add(1)
				return
			}
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *dropProxy) addr() string { return p.ln.Addr().String() }

// The destination is Dovecot: imapmemserver stores the truncated literal
// of an APPEND cut mid-message, which no real server does.
func TestConnectionDropsAreRetriedWithoutDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		every   int64
		replies bool
	}{
		{"requests cut", 1 << 20, false},
		{"replies lost", 4 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := memServer(t, "alice"), dovecotServer(t, "/", "alice")
			fill(t, src, "alice", corpus.Spec{Messages: 300, Seed: 13, MaxSize: 64 << 10})
			px := startDropProxy(t, dst.addr, tc.every, 4, tc.replies)
			viaProxy := server{addr: px.addr(), users: dst.users}
			e := newEnv(t, src, viaProxy, project.DefaultOptions(), "alice")
			s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
			if px.killed.Load() == 0 {
				t.Fatal("the proxy never dropped a connection")
			}
			if s.Status != project.StatusCompleted {
				t.Fatalf("full through a dropping proxy (%d drops): %+v", px.killed.Load(), s)
			}
			srcMsgs := snapshot(t, src, "alice")
			want := hashes(srcMsgs, false)
			for _, m := range snapshot(t, dst, "alice") {
				if want[m.Hash] > 0 {
					want[m.Hash]--
					continue
				}
				t.Logf("extra %+v", m)
			}
			sameMultiset(t, "after drops", hashes(srcMsgs, true), hashes(snapshot(t, dst, "alice"), true))
			t.Logf("%d connections dropped; migrated %d", px.killed.Load(), s.ItemsMigrated)
		})
	}
}

func TestConnectionThatStaysDownFailsOnlyThatUser(t *testing.T) {
	src, dst := memServer(t, "alice", "bob"), memServer(t, "alice", "bob")
	fill(t, src, "alice", corpus.Spec{Messages: 20, Seed: 1, MaxSize: 4 << 10})
	fill(t, src, "bob", corpus.Spec{Messages: 20, Seed: 2, MaxSize: 4 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice", "bob")
	// bob's destination is a port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	_ = dead
	bad := server{addr: dead, users: dst.users}
	p, _ := e.st.Project("P")
	p2 := p
	p2.Name = "Q"
	p2.Dest = bad.endpoint()
	if err := e.st.CreateProject(p2); err != nil {
		t.Fatal(err)
	}
	users, _ := e.st.Users("P")
	if err := e.st.PutUsers("Q", users); err != nil {
		t.Fatal(err)
	}
	eng := e.engine()
	var wg sync.WaitGroup
	var sp, sq Summary
	wg.Add(2)
	go func() {
		defer wg.Done()
		sp, _ = eng.Run(t.Context(), "P", project.PassFull, []string{"alice@example.com"}, PassOptions{})
	}()
	go func() {
		defer wg.Done()
		sq, _ = eng.Run(t.Context(), "Q", project.PassFull, []string{"bob@example.com"}, PassOptions{})
	}()
	wg.Wait()
	if sp.Users[0].Status != project.StatusCompleted || sq.Users[0].Status != project.StatusFailed {
		t.Fatalf("alice %+v, bob %+v", sp.Users[0], sq.Users[0])
	}
}
