package memimap

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
)

// wire is the connection filter of a Gmail server: go-imap's server
// (v2.0.0-beta.8) refuses FETCH items it does not know, so the filter
// takes X-GM-MSGID, X-GM-LABELS and X-GM-THRID out of the client's FETCH
// commands (asking for UID instead, when nothing else is left) and puts
// X-GM-MSGID and X-GM-LABELS into the server's FETCH responses to those
// commands. Literals pass through untouched both ways; AUTHENTICATE's
// client responses and IDLE's DONE are not taken for commands.
type wire struct {
	net.Conn
	gm *gmail
	br *bufio.Reader

	// read side (the server's goroutine)
	rbuf    []byte // filtered bytes not yet returned
	litLeft int    // client literal bytes still to pass
	inCmd   bool   // the next line continues a command (after a literal)

	mu      sync.Mutex
	sess    *Session
	mailbox string
	auth    string    // tag of an AUTHENTICATE in progress
	cmds    []wireCmd // commands read and not yet answered, in order

	// write side
	wpend []byte // output not yet a whole line
	wlit  int    // server literal bytes still to pass
}

type wireCmd struct {
	tag    string
	gm     bool                // FETCH with X-GM-MSGID/X-GM-LABELS
	labels map[uint64][]string // the user's labels when it was read
}

func newWire(c net.Conn, gm *gmail) *wire {
	return &wire{Conn: c, gm: gm, br: bufio.NewReaderSize(c, 16<<10)}
}

func (w *wire) setSession(s *Session) {
	w.mu.Lock()
	w.sess = s
	w.mu.Unlock()
}

func (w *wire) setMailbox(name string) {
	w.mu.Lock()
	w.mailbox = name
	w.mu.Unlock()
}

func (w *wire) mailboxName() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mailbox
}

// Read returns the client's bytes with the X-GM FETCH items taken out.
func (w *wire) Read(p []byte) (int, error) {
	for len(w.rbuf) == 0 {
		if w.litLeft > 0 {
			buf := make([]byte, min(w.litLeft, len(p), 64<<10))
			n, err := w.br.Read(buf)
			w.litLeft -= n
			w.rbuf = buf[:n]
			if n == 0 && err != nil {
				return 0, err
			}
			continue
		}
		line, err := w.br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			return 0, err
		}
		w.rbuf = w.clientLine(line)
		if err != nil && len(w.rbuf) == 0 {
			return 0, err
		}
	}
	n := copy(p, w.rbuf)
	w.rbuf = w.rbuf[n:]
	return n, nil
}

var (
	gmItemRE  = regexp.MustCompile(`(?i)\s*\bX-GM-(MSGID|LABELS|THRID)\b`)
	literalRE = regexp.MustCompile(`\{(\d+)\+?\}\r?\n$`)
	uidItemRE = regexp.MustCompile(`(?i)[( ]UID[ )]`)
)

// clientLine notes one command line of the client (or a continuation
// after a literal) and returns it as the server is to see it.
func (w *wire) clientLine(line []byte) []byte {
	cont := w.inCmd
	if m := literalRE.FindSubmatch(line); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		w.litLeft, w.inCmd = n, true
	} else {
		w.inCmd = false
	}
	w.mu.Lock()
	auth := w.auth
	w.mu.Unlock()
	s := strings.TrimRight(string(line), "\r\n")
	if cont || auth != "" || strings.EqualFold(s, "DONE") || s == "" {
		return line
	}
	tag, rest, _ := strings.Cut(s, " ")
	verb, args, _ := strings.Cut(rest, " ")
	verb = strings.ToUpper(verb)
	cmd := wireCmd{tag: tag}
	switch verb {
	case "AUTHENTICATE":
		w.mu.Lock()
		w.auth = tag
		w.mu.Unlock()
	case "UID":
		sub, subArgs, _ := strings.Cut(args, " ")
		if strings.EqualFold(sub, "FETCH") && gmItemRE.MatchString(subArgs) {
			cmd.gm = true
			line = []byte(tag + " UID FETCH " + stripGM(subArgs) + "\r\n")
		}
	case "FETCH":
		if gmItemRE.MatchString(args) {
			cmd.gm = true
			line = []byte(tag + " FETCH " + stripGM(args) + "\r\n")
		}
	}
	w.mu.Lock()
	sess := w.sess
	w.mu.Unlock()
	if cmd.gm && sess != nil {
		cmd.labels = w.gm.labels(sess.acct, sess.user)
	}
	w.mu.Lock()
	w.cmds = append(w.cmds, cmd)
	w.mu.Unlock()
	return line
}

// stripGM takes the X-GM items out of "set items", asking for UID so
// that the responses can be told apart.
func stripGM(args string) string {
	set, items, _ := strings.Cut(args, " ")
	items = strings.TrimSpace(gmItemRE.ReplaceAllString(items, ""))
	if !strings.HasPrefix(items, "(") {
		items = "(" + items + ")"
	}
	items = strings.Replace(items, "( ", "(", 1)
	if !uidItemRE.MatchString(items) {
		if items == "()" {
			items = "(UID)"
		} else {
			items = "(UID " + items[1:]
		}
	}
	return set + " " + items
}

// Write passes the server's bytes on, adding X-GM-MSGID and X-GM-LABELS
// to the FETCH responses of the commands that asked for them.
func (w *wire) Write(p []byte) (int, error) {
	var out bytes.Buffer
	w.wpend = append(w.wpend, p...)
	for len(w.wpend) > 0 {
		if w.wlit > 0 {
			n := min(w.wlit, len(w.wpend))
			out.Write(w.wpend[:n])
			w.wpend, w.wlit = w.wpend[n:], w.wlit-n
			continue
		}
		i := bytes.IndexByte(w.wpend, '\n')
		if i < 0 {
			break // the rest of the line comes with the next write
		}
		line := w.wpend[:i+1]
		w.wpend = w.wpend[i+1:]
		out.Write(w.serverLine(line))
		if m := literalRE.FindSubmatch(line); m != nil {
			w.wlit, _ = strconv.Atoi(string(m[1]))
		}
	}
	w.wpend = append([]byte(nil), w.wpend...)
	if _, err := w.Conn.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

var fetchRE = regexp.MustCompile(`(?i)^\* \d+ FETCH \(`)
var uidRE = regexp.MustCompile(`(?i)[( ]UID (\d+)`)

// serverLine annotates an untagged FETCH response of a command that asked
// for X-GM items, and ends the commands answered by a tagged response.
func (w *wire) serverLine(line []byte) []byte {
	line = addCapGmail(line)
	w.mu.Lock()
	defer w.mu.Unlock()
	tag, _, _ := bytes.Cut(line, []byte(" "))
	if t := string(tag); t != "*" && t != "+" {
		if t == w.auth {
			w.auth = ""
		}
		for i, c := range w.cmds {
			if c.tag == t {
				w.cmds = w.cmds[i+1:]
				break
			}
		}
		return line
	}
	if len(w.cmds) == 0 || !w.cmds[0].gm || w.sess == nil {
		return line
	}
	loc := fetchRE.FindIndex(line)
	m := uidRE.FindSubmatch(line)
	if loc == nil || m == nil {
		return line
	}
	uid, _ := strconv.ParseUint(string(m[1]), 10, 32)
	id := w.gm.id(w.sess.user, w.mailbox, imap.UID(uid))
	if id == 0 {
		return line // not a message the server knows the X-GM-MSGID of
	}
	add := "X-GM-MSGID " + strconv.FormatUint(id, 10) + " X-GM-LABELS " + gmLabels(w.cmds[0].labels[id]) + " "
	out := append([]byte{}, line[:loc[1]]...)
	out = append(out, add...)
	return append(out, line[loc[1]:]...)
}

var capsRE = regexp.MustCompile(`(?i)^(\* CAPABILITY [^\r\n]*|[^\r\n]*\[CAPABILITY [^\]]*)`)

// addCapGmail announces X-GM-EXT-1 in a CAPABILITY response or response
// code (go-imap's server only announces the capabilities it knows).
func addCapGmail(line []byte) []byte {
	loc := capsRE.FindIndex(line)
	if loc == nil || bytes.Contains(line, []byte(CapGmail)) {
		return line
	}
	out := append([]byte{}, line[:loc[1]]...)
	out = append(out, " "+string(CapGmail)...)
	return append(out, line[loc[1]:]...)
}
