package faultproxy

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// tcpServer is a real loopback TCP server running handle for each
// connection; Close closes the listener and every connection and waits for
// the handlers.
type tcpServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startServer(t testing.TB, handle func(net.Conn)) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *tcpServer) Addr() string { return s.ln.Addr().String() }

func (s *tcpServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// echo copies everything back and half-closes after the client's EOF.
func echo(c net.Conn) {
	io.Copy(c, c)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// sink reports how many bytes it received before EOF or an error.
func sink(got chan<- int64) func(net.Conn) {
	return func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}
}

// talker waits for a request line, sends payload, then waits for the
// client to go away. (Waiting first keeps the whole exchange from ending
// before the client's connect has even returned.)
func talker(payload []byte) func(net.Conn) {
	return func(c net.Conn) {
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return
		}
		if _, err := c.Write(payload); err != nil {
			return
		}
		io.Copy(io.Discard, c)
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// startIMAP runs go-imap's in-memory IMAP server with user ann/pw and a
// few messages in INBOX.
func startIMAP(t testing.TB) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("ann", "pw")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		msg := "From: a@example.com\r\nSubject: m" + strings.Repeat("x", i) + "\r\n\r\n" +
			strings.Repeat("body line\r\n", 200) + "\r\n"
		if _, err := u.Append("INBOX", literal(msg), &imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

type lit struct {
	*bytes.Reader
}

func (l lit) Size() int64 { return int64(l.Len()) }

func literal(s string) imap.LiteralReader { return lit{bytes.NewReader([]byte(s))} }

// readAllTimeout reads until EOF/error or the deadline.
func readAllTimeout(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	return io.ReadAll(c)
}
