package chaos

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/dest/imapdest"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// misbehaviour is how a raw IMAP server goes wrong.
type misbehaviour string

const (
	silent           misbehaviour = "never greets"
	garbageGreeting  misbehaviour = "greets with binary garbage"
	httpGreeting     misbehaviour = "is an HTTP server"
	stallAfterLogin  misbehaviour = "never answers after LOGIN"
	garbageAfter     misbehaviour = "answers garbage after LOGIN"
	hugeLiteral      misbehaviour = "answers LIST with a 100 GB literal"
	byeAfterLogin    misbehaviour = "says BYE after LOGIN"
	untaggedForever  misbehaviour = "answers untagged lines forever, never the tagged OK"
	truncatedAnswers misbehaviour = "closes mid-line after LOGIN"
)

// badIMAP is a tiny raw TCP server that speaks just enough IMAP (greeting,
// CAPABILITY, LOGIN) and then misbehaves.
type badIMAP struct {
	ln    net.Listener
	how   misbehaviour
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startBadIMAP(tb testing.TB, how misbehaviour) *badIMAP {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &badIMAP{ln: ln, how: how}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *badIMAP) addr() string { return s.ln.Addr().String() }

func (s *badIMAP) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *badIMAP) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func garbage(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (s *badIMAP) serve(c net.Conn) {
	r := rand.New(rand.NewPCG(uint64(len(s.how)), 1))
	w := bufio.NewWriter(c)
	send := func(format string, a ...any) bool {
		fmt.Fprintf(w, format, a...)
		return w.Flush() == nil
	}
	switch s.how {
	case silent:
		_, _ = c.Read(make([]byte, 1)) // until the client gives up
		return
	case garbageGreeting:
		w.Write(garbage(r, 300))
		send("\r\n")
		_, _ = c.Read(make([]byte, 1))
		return
	case httpGreeting:
		send("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 24\r\n\r\n<html>Bad Request</html>")
		return
	}
	if !send("* OK [CAPABILITY IMAP4rev1] raw test server ready\r\n") {
		return
	}
	br := bufio.NewReader(c)
	loggedIn := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		cmd, _, _ := strings.Cut(rest, " ")
		cmd = strings.ToUpper(cmd)
		switch {
		case cmd == "CAPABILITY":
			send("* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag)
			continue
		case cmd == "LOGOUT":
			send("* BYE bye\r\n%s OK done\r\n", tag)
			return
		case cmd == "LOGIN" && !loggedIn:
			loggedIn = true
			send("%s OK [CAPABILITY IMAP4rev1] logged in\r\n", tag)
			continue
		}
		switch s.how {
		case stallAfterLogin:
			_, _ = c.Read(make([]byte, 1))
			return
		case garbageAfter:
			for range 5 {
				w.Write(garbage(r, 200))
				send("\r\n")
			}
		case hugeLiteral:
			if !send("* LIST () \".\" {107374182400}\r\nINBOX") {
				return
			}
			for range 64 { // a little of the promised 100 GB, then silence
				if !send("%s", strings.Repeat("x", 1024)) {
					return
				}
			}
			_, _ = c.Read(make([]byte, 1))
			return
		case byeAfterLogin:
			send("* BYE [UNAVAILABLE] server shutting down\r\n")
			return
		case untaggedForever:
			for i := 0; ; i++ {
				if !send("* OK still thinking %d\r\n", i) {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		case truncatedAnswers:
			send("* LIST (\\HasNoChildren) \".\" \"INB")
			return
		}
	}
}

// The timeouts the tests give the IMAP connections (the products' defaults
// are 30 s to connect and 2 min without progress).
var shortTimeouts = imapconn.Options{DialTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second, Logger: kit.Logger()}

// badRouteOpener opens users like OpenWithConnect, with short timeouts,
// except that user "bad" reaches badAddr on the given side.
func badRouteOpener(badAddr string, side project.Side) engine.Opener {
	return func(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Source, mailbox.Destination, error) {
		sl, err := connect.LoginFor(st, p, u, project.SideSource)
		if err != nil {
			return nil, nil, err
		}
		sep, dep := p.Source, p.Dest
		if u.SourceLogin == "bad" {
			host, port := splitAddr(badAddr)
			if side == project.SideSource {
				sep.Host, sep.Port = host, port
			} else {
				dep.Host, dep.Port = host, port
			}
		}
		src, err := source.DialIMAP(ctx, sep, sl.Cred, &source.IMAPOptions{Conn: shortTimeouts})
		if err != nil {
			return nil, nil, err
		}
		dl, err := connect.LoginFor(st, p, u, project.SideDest)
		if err != nil {
			src.Close()
			return nil, nil, err
		}
		dst, err := imapdest.Dial(ctx, dep, dl.Cred, &imapdest.Options{Conn: shortTimeouts})
		if err != nil {
			src.Close()
			return nil, nil, err
		}
		return src, dst, nil
	}
}

func splitAddr(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	return host, p
}

// IMAP servers that reply with garbage, oversized literals, or never
// answer, as the source or the destination of user "bad": the run ends
// within the timeouts, "bad" is Failed with a readable reason, and user
// "good" (on good servers, in the same run) completes.
func TestMisbehavingIMAPServers(t *testing.T) {
	all := []misbehaviour{silent, garbageGreeting, httpGreeting, stallAfterLogin, garbageAfter,
		hugeLiteral, byeAfterLogin, untaggedForever, truncatedAnswers}
	for _, side := range []project.Side{project.SideSource, project.SideDest} {
		for _, how := range all {
			t.Run(fmt.Sprintf("%s %s", side, how), func(t *testing.T) {
				t.Parallel()
				users := map[string]string{"good": pw("good"), "bad": pw("bad")}
				src, dst := testsrv.StartMemIMAP(t, users), testsrv.StartMemIMAP(t, users)
				fs, err := src.Fill(context.Background(), "good", corpus.Spec{Messages: 40, Seed: 5, MaxSize: 8 << 10})
				if err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, src.Addr(), "good", pw("good"))
				bad := startBadIMAP(t, how)
				r := newRig(t, kit.IMAPEndpoint(src.Addr()), kit.IMAPEndpoint(dst.Addr()), project.DefaultOptions(), "good", "bad")
				r.retry = engine.RetryPolicy{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
				r.open = badRouteOpener(bad.addr(), side)
				start := time.Now()
				us := r.run(project.PassFull)
				took := time.Since(start)
				good, badU := us[0], us[1]
				if good.Status != project.StatusCompleted || good.ItemsMigrated != int64(fs.Messages) {
					t.Errorf("good user: %+v, want Completed with %d items", good, fs.Messages)
				}
				if badU.Status != project.StatusFailed || len(badU.Err) < 10 || strings.ContainsAny(badU.Err, "\x00\x01\x02\x7f") {
					t.Errorf("bad user: %+v, want Failed with a readable reason", badU)
				}
				sameSnapshot(t, "good user's source", before, snapshot(t, src.Addr(), "good", pw("good")))
				if took > 45*time.Second {
					t.Errorf("the run took %v", took)
				}
				t.Logf("%v; bad user: %s", took.Round(time.Millisecond), badU.Err)
			})
		}
	}
}
