package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// Keep is how many messages the outbox keeps (the oldest go first).
const Keep = 500

// maxSize bounds one message (a report with its CSV fits easily).
const maxSize = 16 << 20

// Message is one mail the outbox received.
type Message struct {
	Time    time.Time
	From    string
	To      []string
	Subject string
	Text    string // the text/plain part (or the HTML part's text when there is none)
	Attach  []string
	Raw     []byte
}

// Server is a running outbox.
type Server struct {
	Host string // "127.0.0.1"
	Port int

	srv *smtp.Server
	ln  net.Listener

	mu    sync.Mutex
	msgs  []Message
	hooks map[int]func()
	next  int
}

// New starts an outbox on a free 127.0.0.1 port. Close it when done.
func New() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	s := &Server{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, ln: ln, hooks: map[int]func(){}}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "outbox.localhost"
	s.srv.MaxMessageBytes = maxSize
	s.srv.MaxRecipients = 1000
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			slog.Warn("outbox: serve", "err", err)
		}
	}()
	return s, nil
}

// Addr is "127.0.0.1:Port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns the messages received, newest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[len(s.msgs)-1-i] = m
	}
	return out
}

// OnMessage calls f (on the server's goroutine) after each message
// arrives; the returned function removes it.
func (s *Server) OnMessage(f func()) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.hooks[id] = f
	return func() {
		s.mu.Lock()
		delete(s.hooks, id)
		s.mu.Unlock()
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	if len(s.msgs) > Keep {
		s.msgs = append([]Message(nil), s.msgs[len(s.msgs)-Keep:]...)
	}
	hooks := make([]func(), 0, len(s.hooks))
	for _, f := range s.hooks {
		hooks = append(hooks, f)
	}
	s.mu.Unlock()
	for _, f := range hooks {
		f()
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error   { ss.to = append(ss.to, to); return nil }
func (ss *session) Reset()                                      { ss.from, ss.to = "", nil }
func (ss *session) Logout() error                               { return nil }

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return err
	}
	m := Message{Time: time.Now(), From: ss.from, To: ss.to, Raw: raw}
	parse(&m)
	ss.s.add(m)
	return nil
}

// parse fills Subject, Text and Attach from Raw (best effort: a message
// it cannot parse keeps its raw text).
func parse(m *Message) {
	mr, err := mail.CreateReader(bytes.NewReader(m.Raw))
	if err != nil {
		m.Text = string(m.Raw)
		return
	}
	m.Subject, _ = mr.Header.Subject()
	var html string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			b, _ := io.ReadAll(io.LimitReader(p.Body, maxSize))
			switch {
			case ct == "text/plain" && m.Text == "":
				m.Text = string(b)
			case ct == "text/html" && html == "":
				html = string(b)
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			m.Attach = append(m.Attach, name)
		}
	}
	if m.Text == "" {
		m.Text = stripTags(html)
	}
}

// stripTags is a crude HTML → text for a message without a text part.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
