package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func newProxy(t testing.TB, target string, opts ...Option) *Proxy {
	t.Helper()
	p, err := New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t testing.TB, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// request dials through p and sends a talker its request line.
func request(t testing.TB, p *Proxy) net.Conn {
	t.Helper()
	c := dial(t, p)
	if _, err := c.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestForwardsFaithfully(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr(), WithChunkSize(4096))
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %s", p.Addr())
	}
	c := dial(t, p)
	data := pattern(1 << 20)
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := readAllTimeout(c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo through proxy: %d bytes, differ", len(got))
	}
	waitFor(t, "connection end", func() bool { return p.Stats().Active == 0 })
	st := p.Stats()
	if st.Accepted != 1 || st.BytesUp != 1<<20 || st.BytesDown != 1<<20 || st.Cuts != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCutClientToServer(t *testing.T) {
	got := make(chan int64, 1)
	srv := startServer(t, sink(got))
	p := newProxy(t, srv.Addr(), WithRule(Rule{CutAfter: 1000, CutDir: ClientToServer}), WithChunkSize(300))
	c := dial(t, p)
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = c.Write(pattern(500))
		time.Sleep(time.Millisecond)
	}
	if werr == nil {
		t.Fatal("client kept writing 50000 bytes through a connection cut after 1000")
	}
	if n := <-got; n != 1000 {
		t.Fatalf("server received %d bytes, want exactly 1000", n)
	}
	if st := p.Stats(); st.Cuts != 1 || st.BytesUp != 1000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCutServerToClient(t *testing.T) {
	payload := pattern(100_000)
	srv := startServer(t, talker(payload))
	p := newProxy(t, srv.Addr(), WithRule(Rule{CutAfter: 12345, CutDir: ServerToClient}))
	c := request(t, p)
	got, _ := readAllTimeout(c, 5*time.Second)
	if !bytes.Equal(got, payload[:12345]) {
		t.Fatalf("client got %d bytes, want exactly the first 12345", len(got))
	}
	if st := p.Stats(); st.Cuts != 1 || st.BytesDown != 12345 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCutWithReset(t *testing.T) {
	srv := startServer(t, talker(pattern(1<<20)))
	p := newProxy(t, srv.Addr(), WithRule(Rule{CutAfter: 1000, CutDir: ServerToClient, CutReset: true}))
	c := request(t, p)
	waitFor(t, "cut", func() bool { return p.Stats().Cuts == 1 })
	_, err := readAllTimeout(c, 5*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset cut: %v, want connection reset", err)
	}
}

func TestCutBothDirectionsCountsTotal(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr(), WithRule(Rule{CutAfter: 1500}))
	c := dial(t, p)
	// 1000 up, echoed 1000 down = 2000 > 1500: the echo is cut at 500.
	c.Write(pattern(1000))
	got, _ := readAllTimeout(c, 5*time.Second)
	if len(got) != 500 {
		t.Fatalf("client got %d echoed bytes, want 500", len(got))
	}
}

func TestRandomCutPerConnection(t *testing.T) {
	payload := pattern(10_000)
	srv := startServer(t, talker(payload))
	p := newProxy(t, srv.Addr(), WithSeed(7),
		WithRule(Rule{CutMin: 1000, CutMax: 5000, CutDir: ServerToClient}))
	seen := map[int]bool{}
	for range 20 {
		c := request(t, p)
		got, _ := readAllTimeout(c, 5*time.Second)
		c.Close()
		if len(got) < 1000 || len(got) > 5000 || !bytes.Equal(got, payload[:len(got)]) {
			t.Fatalf("connection got %d bytes, want a prefix of 1000..5000", len(got))
		}
		seen[len(got)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct cut points in 20 connections: not random", len(seen))
	}
	if st := p.Stats(); st.Cuts != 20 {
		t.Fatalf("cuts %d, want 20", st.Cuts)
	}
}

func TestStallForDuration(t *testing.T) {
	srv := startServer(t, talker(pattern(300)))
	const stall = 300 * time.Millisecond
	p := newProxy(t, srv.Addr(), WithRule(Rule{Stall: true, StallAfter: 100, StallFor: stall, StallDir: ServerToClient}))
	c := request(t, p)
	start := time.Now()
	buf := make([]byte, 300)
	if _, err := io.ReadFull(c, buf[:100]); err != nil {
		t.Fatal(err)
	}
	before := time.Since(start)
	if _, err := io.ReadFull(c, buf[100:]); err != nil {
		t.Fatal(err)
	}
	// A timer never fires early: the rest cannot arrive before the stall ends.
	if waited := time.Since(start); waited < stall {
		t.Fatalf("rest arrived after %v, before the %v stall ended", waited, stall)
	}
	if !bytes.Equal(buf, pattern(300)) {
		t.Fatal("data changed across the stall")
	}
	if st := p.Stats(); st.Stalls != 1 {
		t.Fatalf("stalls %d", st.Stalls)
	}
	t.Logf("first 100 bytes after %v", before)
}

func TestStallForeverUntilRuleChanges(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr(), WithRule(Rule{Stall: true, StallDir: ClientToServer}))
	c := dial(t, p)
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read through a stalled proxy: %d, %v; want a timeout", n, err)
	}
	waitFor(t, "stall counted", func() bool { return p.Stats().Stalls == 1 })
	// Another connection's rule changing does not end this stall.
	p.SetConnRule(99, Rule{Latency: time.Second})
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after an unrelated rule change: %d, %v; want still stalled", n, err)
	}
	p.SetRule(Rule{})
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("after clearing the stall: %q, %v", line, err)
	}
}

func TestLatencyPerChunk(t *testing.T) {
	srv := startServer(t, echo)
	const lat = 40 * time.Millisecond
	p := newProxy(t, srv.Addr(), WithRule(Rule{Latency: lat}))
	c := dial(t, p)
	r := bufio.NewReader(c)
	for i := range 3 {
		start := time.Now()
		c.Write([]byte("x\n"))
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		// One chunk up, one down: at least two latencies per round trip.
		if d := time.Since(start); d < 2*lat {
			t.Fatalf("round trip %d took %v, want at least %v", i, d, 2*lat)
		}
	}
}

func TestInjectByeRaw(t *testing.T) {
	addr := startIMAP(t)
	p := newProxy(t, addr)
	// Learn the greeting's length on connection 1.
	c1 := dial(t, p)
	greeting, err := bufio.NewReader(c1).ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	c1.Close()
	bye := "* BYE server shutting down\r\n"
	p.SetConnRule(2, Rule{Inject: []byte(bye), InjectAfter: int64(len(greeting)), InjectClose: true})
	c2 := dial(t, p)
	got, _ := readAllTimeout(c2, 5*time.Second)
	if string(got) != greeting+bye {
		t.Fatalf("connection 2 got %q, want the greeting then BYE", got)
	}
	// Connection 3 follows the global rule again: a normal session.
	c3 := dial(t, p)
	r := bufio.NewReader(c3)
	if g, _ := r.ReadString('\n'); g != greeting[:len("* OK")]+g[len("* OK"):] || !strings.HasPrefix(g, "* OK") {
		t.Fatalf("connection 3 greeting %q", g)
	}
	if st := p.Stats(); st.Injections != 1 {
		t.Fatalf("injections %d", st.Injections)
	}
}

func TestIMAPClientThroughFaults(t *testing.T) {
	addr := startIMAP(t)
	p := newProxy(t, addr)

	// Faithful: login, select, fetch every body.
	cl, err := imapclient.DialInsecure(p.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Login("ann", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := cl.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 3 {
		t.Fatalf("fetch: %d, %v", len(msgs), err)
	}
	cl.Close()

	// A BYE after the greeting: login fails.
	p.SetRule(Rule{Inject: []byte("* BYE server shutting down\r\n"), InjectAfter: 1, InjectClose: true})
	cl, err = imapclient.DialInsecure(p.Addr(), nil)
	if err == nil {
		err = cl.Login("ann", "pw").Wait()
		cl.Close()
	}
	if err == nil {
		t.Fatal("login succeeded through a connection the server said BYE on")
	}

	// A cut in the middle of a FETCH, spoken raw (imapclient beta.8 has a
	// data race of its own when its connection dies inside a literal): the
	// response stops short, the tagged OK never comes, nothing hangs.
	p.SetRule(Rule{CutMin: 3000, CutMax: 20000, CutDir: ServerToClient})
	c := dial(t, p)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	cmd := func(line, tag string) (string, error) {
		if _, err := c.Write([]byte(line + "\r\n")); err != nil {
			return "", err
		}
		var all strings.Builder
		for {
			l, err := r.ReadString('\n')
			all.WriteString(l)
			if err != nil {
				return all.String(), err
			}
			if strings.HasPrefix(l, tag+" ") {
				return all.String(), nil
			}
		}
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"a1 LOGIN ann pw", "a2 SELECT INBOX"} {
		if out, err := cmd(step, step[:2]); err != nil || !strings.Contains(out, step[:2]+" OK") {
			t.Fatalf("%s: %q, %v", step, out, err)
		}
	}
	out, err := cmd("a3 FETCH 1:20 BODY.PEEK[]", "a3")
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(out, "a3 OK") {
		t.Fatalf("FETCH through a cut: %d bytes, %v; want EOF before the tagged OK", len(out), err)
	}
	if st := p.Stats(); st.Cuts < 1 || st.Injections < 1 { // earlier connections may still be closing
		t.Fatalf("stats %+v", st)
	}
}

func TestRefuseNewConnections(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr())
	open := dial(t, p) // connection 1, accepted before refusing
	waitFor(t, "first connection accepted", func() bool { return p.Stats().Accepted == 1 })
	p.SetRule(Rule{Refuse: true})
	// The reset may already reach the client's connect, or its first read.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Write([]byte("hello\n"))
		if got, err := readAllTimeout(c, 5*time.Second); len(got) != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("refused connection: %q, %v", got, err)
		}
		c.Close()
	}
	waitFor(t, "refusal counted", func() bool { return p.Stats().Refused == 1 })
	// The connection accepted earlier still works.
	open.Write([]byte("still\n"))
	open.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(open).ReadString('\n'); err != nil || line != "still\n" {
		t.Fatalf("old connection: %q, %v", line, err)
	}
	p.SetRule(Rule{})
	c := dial(t, p)
	c.Write([]byte("back\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "back\n" {
		t.Fatalf("after refusing ended: %q, %v", line, err)
	}
	if st := p.Stats(); st.Accepted != 2 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPerConnectionRule(t *testing.T) {
	payload := pattern(5000)
	srv := startServer(t, talker(payload))
	p := newProxy(t, srv.Addr())
	p.SetConnRule(2, Rule{CutAfter: 10, CutDir: ServerToClient})
	for id := 1; id <= 3; id++ {
		c := request(t, p)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, len(payload))
		n, err := io.ReadFull(c, buf)
		c.Close()
		want := len(payload)
		if id == 2 {
			want = 10
		}
		if n != want {
			t.Fatalf("connection %d: %d bytes (%v), want %d", id, n, err, want)
		}
	}
	p.ClearConnRule(2)
	if st := p.Stats(); st.Cuts != 1 || st.Accepted != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCutAll(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr())
	var cs []net.Conn
	for range 4 {
		c := dial(t, p)
		c.Write([]byte("a\n"))
		bufio.NewReader(c).ReadString('\n')
		cs = append(cs, c)
	}
	waitFor(t, "4 active", func() bool { return p.Stats().Active == 4 })
	if n := p.CutAll(); n != 4 {
		t.Fatalf("CutAll cut %d", n)
	}
	for _, c := range cs {
		if _, err := readAllTimeout(c, 5*time.Second); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("a connection survived CutAll")
		}
	}
	waitFor(t, "0 active", func() bool { return p.Stats().Active == 0 })
	if st := p.Stats(); st.Cuts != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	p := newProxy(t, dead)
	c := dial(t, p)
	if _, err := readAllTimeout(c, 5*time.Second); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("client not disconnected when the target is down")
	}
	waitFor(t, "dial error counted", func() bool { return p.Stats().DialErrors == 1 })
}

func TestConcurrentRuleChanges(t *testing.T) {
	srv := startServer(t, echo)
	p := newProxy(t, srv.Addr(), WithChunkSize(512))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		rules := []Rule{{}, {Latency: time.Millisecond}, {CutMin: 1000, CutMax: 8000}, {Stall: true, StallFor: time.Millisecond}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.SetRule(rules[i%len(rules)])
			p.SetConnRule(int64(i%10), rules[(i+1)%len(rules)])
			p.Stats()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					return
				}
				go func() { c.Write(pattern(10_000)); c.(*net.TCPConn).CloseWrite() }()
				readAllTimeout(c, 5*time.Second)
				c.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	p.Reset()
	c := dial(t, p)
	c.Write([]byte("ok\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ok\n" {
		t.Fatalf("after the storm: %q, %v", line, err)
	}
}

// TestCloseLeavesNoGoroutines closes the proxy while connections are busy,
// stalled for good, and sleeping in latency, and checks that every
// goroutine it started is gone.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := startServer(t, echo)
	talk := startServer(t, talker(pattern(1<<20)))
	base := runtime.NumGoroutine()

	p, err := New(srv.Addr(), WithRule(Rule{Stall: true, StallDir: ServerToClient}))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := New(talk.Addr(), WithRule(Rule{Latency: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	var cs []net.Conn
	for range 5 {
		for _, px := range []*Proxy{p, p2} {
			c, err := net.Dial("tcp", px.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("data\n"))
			cs = append(cs, c)
		}
	}
	waitFor(t, "stalls", func() bool { return p.Stats().Stalls == 5 && p2.Stats().Active == 5 })
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := p.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	for _, c := range cs {
		if _, err := readAllTimeout(c, 5*time.Second); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("a client connection stayed open after Close")
		}
		c.Close()
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("proxy still accepts after Close")
	}
	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= base {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines after Close, %d before New:\n%s", n, base, buf[:runtime.Stack(buf, true)])
}

func BenchmarkThroughput(b *testing.B) {
	srv := startServer(b, echo)
	p := newProxy(b, srv.Addr())
	c := dial(b, p)
	chunk := pattern(64 << 10)
	got := make([]byte, len(chunk))
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
	}
}
