package corpus

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Spec describes a generated mailbox. The same spec always yields
// byte-identical messages, flags and dates.
type Spec struct {
	Messages int   // ordinary messages; default 50
	Seed     int64 // random seed
	MaxSize  int   // upper bound of an ordinary message's size in bytes; default 64 KiB, at least 2 KiB
	// Edge adds hard cases: a folder whose name differs from another only
	// in case, an unsubscribed folder, raw 8-bit headers, bare-LF line
	// endings, an empty body, a missing Date, RFC 2047 subjects, a 10 kB
	// header line, a Content-Transfer-Encoding: binary part and one
	// message of MaxSize bytes.
	Edge bool
	// LargestSize is the size in bytes of the Edge corpus's "largest
	// message" (e.g. 25 MB); default MaxSize.
	LargestSize int
}

// Folder is one folder of a corpus, as a path of names (join them
// with the server's hierarchy separator).
type Folder struct {
	Path       []string
	Subscribed bool
	// CaseTwinOf is set when the name differs from an earlier folder only
	// in letter case; servers that fold case refuse to create it, and
	// FillMailbox then skips the folder and its messages.
	CaseTwinOf []string
}

// Message is one generated message.
type Message struct {
	Folder       []string
	Flags        []imap.Flag
	InternalDate time.Time // whole seconds
	MessageID    string    // "" when the message has no Message-ID header
	Subject      string    // the raw Subject header value ("" if absent)
	Raw          []byte
}

// Corpus is a generated mailbox: folders in creation order (parents
// before children) and messages in append order (by folder, then date).
type Corpus struct {
	Spec     Spec
	Folders  []Folder
	Messages []Message
}

// Bytes is the total size of all messages.
func (c *Corpus) Bytes() int64 {
	var n int64
	for _, m := range c.Messages {
		n += int64(len(m.Raw))
	}
	return n
}

// InFolder returns the messages of the folder with the given path.
func (c *Corpus) InFolder(path ...string) []Message {
	var out []Message
	for _, m := range c.Messages {
		if samePath(m.Folder, path) {
			out = append(out, m)
		}
	}
	return out
}

func samePath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Folders of every corpus with the weight of ordinary messages they get.
// "Clients" is never created itself: servers show it as a \Noselect parent
// or not at all.
var corpusFolders = []struct {
	path   []string
	weight int
}{
	{[]string{"INBOX"}, 30},
	{[]string{"INBOX", "Receipts"}, 2},
	{[]string{"Sent"}, 12},
	{[]string{"Drafts"}, 1},
	{[]string{"Trash"}, 4},
	{[]string{"Junk"}, 3},
	{[]string{"Archive"}, 8},
	{[]string{"Archive", "2020"}, 5},
	{[]string{"Archive", "2021"}, 5},
	{[]string{"Projects"}, 2},
	{[]string{"Projects", "2024"}, 2},
	{[]string{"Projects", "2024", "Q1"}, 3},
	{[]string{"Files"}, 4},
	{[]string{`Say "Hi"`}, 2},
	{[]string{"Café Données"}, 2},
	{[]string{"日本語 メール"}, 2},
	{[]string{"Clients", "ACME Corp"}, 3},
	{[]string{"Clients", "Zeta & Co"}, 2},
	{[]string{"Empty"}, 0},
}

// Edge folders.
var (
	edgeFolder        = []string{"Edge Cases"}
	edgeUnsubscribed  = []string{"Unsubscribed"}
	edgeCaseTwin      = []string{"archive"}
	edgeCaseTwinOf    = []string{"Archive"}
	corpusStart       = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	corpusSpanSeconds = int64(7 * 365 * 24 * 3600)
)

var (
	firstNames = []string{"Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy",
		"Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter"}
	lastNames = []string{"Smith", "Jones", "Muller", "Dubois", "Rossi", "Tanaka", "Nowak", "Silva", "Olsen",
		"Kowalski", "Garcia", "Nguyen", "O'Brien", "Fischer", "Lefevre"}
	domains = []string{"example.com", "example.org", "mail.example.net", "corp.example", "lists.example.io"}
	topics  = []string{"quarterly report", "meeting notes", "invoice", "travel plans", "release 2.3",
		"budget review", "contract draft", "lunch on friday", "server outage", "design review",
		"welcome aboard", "password reset", "holiday schedule", "customer feedback",
		"pull request #4521", "re: re: question", "newsletter", "shipping confirmation"}
	words = strings.Fields("the of and to in is that for it as with was on be by this are from at or an have " +
		"not which but all were we when your can there use each she do how their if will up other about out " +
		"many then them these so some her would make like him into time has look two more write go see " +
		"number no way could people my than first water been call who its now find long down day did get " +
		"come made may part mailbox migration server folder message attachment invoice schedule project " +
		"deadline review quarterly budget Grüße café naïve résumé smörgåsbord")
	zones = []int{0, 60, 120, -300, -480, 540, 330, -180} // minutes east of UTC
)

// Generate builds the corpus for spec deterministically.
func Generate(spec Spec) *Corpus {
	if spec.Messages <= 0 {
		spec.Messages = 50
	}
	if spec.MaxSize <= 0 {
		spec.MaxSize = 64 << 10
	}
	if spec.MaxSize < 2048 {
		spec.MaxSize = 2048
	}
	c := &Corpus{Spec: spec}
	var names [][]string
	var weights []int
	total := 0
	for _, f := range corpusFolders {
		c.Folders = append(c.Folders, Folder{Path: f.path, Subscribed: true})
		if f.weight > 0 {
			names = append(names, f.path)
			weights = append(weights, f.weight)
			total += f.weight
		}
	}
	plan := rand.New(rand.NewPCG(uint64(spec.Seed), 0x706c616e)) // "plan"
	pick := func() []string {
		n := plan.IntN(total)
		for i, w := range weights {
			if n < w {
				return names[i]
			}
			n -= w
		}
		return names[len(names)-1]
	}

	type planned struct {
		folder []string
		when   time.Time
		msg    Message
	}
	var msgs []planned
	for i := 0; i < spec.Messages; i++ {
		// The first messages go round-robin so every non-empty folder gets
		// at least one when there are enough messages.
		folder := names[i%len(names)]
		if i >= len(names) {
			folder = pick()
		}
		when := randomTime(plan)
		r := rand.New(rand.NewPCG(uint64(spec.Seed), uint64(i)+1))
		m := ordinaryMessage(r, i, when, spec.MaxSize)
		m.Folder = folder
		m.Flags = pickFlags(plan, folder)
		switch {
		case i == 1 || (i > 5 && plan.Float64() < 0.04):
			m = dropHeader(m, "Message-ID")
		case i == 2 || (i > 5 && plan.Float64() < 0.02):
			// a different message reusing an earlier Message-ID
			j := plan.IntN(len(msgs))
			if i == 2 {
				j = 0
			}
			if id := msgs[j].msg.MessageID; id != "" {
				m = replaceMessageID(m, id)
			}
		case i == 3 || (i > 5 && plan.Float64() < 0.02):
			// the very same message again in another folder
			j := plan.IntN(len(msgs))
			if i == 3 {
				j = 0
			}
			orig := msgs[j].msg
			m.Raw, m.MessageID, m.Subject = orig.Raw, orig.MessageID, orig.Subject
			for samePath(folder, orig.Folder) {
				folder = pick()
			}
			m.Folder = folder
			m.Flags = pickFlags(plan, folder)
			when = orig.InternalDate
		}
		if i == 4 {
			m.Flags = []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, "$Label1"}
		}
		m.InternalDate = when
		msgs = append(msgs, planned{folder, when, m})
	}
	if spec.Edge {
		c.Folders = append(c.Folders,
			Folder{Path: edgeFolder, Subscribed: true},
			Folder{Path: edgeUnsubscribed, Subscribed: false},
			Folder{Path: edgeCaseTwin, Subscribed: true, CaseTwinOf: edgeCaseTwinOf},
		)
		for _, m := range edgeMessages(spec) {
			msgs = append(msgs, planned{m.Folder, m.InternalDate, m})
		}
	}
	// Append by folder then date, as UIDs follow time in real mailboxes.
	order := map[string]int{}
	for i, f := range c.Folders {
		order[strings.Join(f.Path, "\x00")] = i
	}
	sort.SliceStable(msgs, func(a, b int) bool {
		fa, fb := order[strings.Join(msgs[a].folder, "\x00")], order[strings.Join(msgs[b].folder, "\x00")]
		if fa != fb {
			return fa < fb
		}
		return msgs[a].when.Before(msgs[b].when)
	})
	for _, p := range msgs {
		c.Messages = append(c.Messages, p.msg)
	}
	return c
}

func randomTime(r *rand.Rand) time.Time {
	t := corpusStart.Add(time.Duration(r.Int64N(corpusSpanSeconds)) * time.Second)
	z := zones[r.IntN(len(zones))]
	return t.In(time.FixedZone(fmt.Sprintf("%+03d%02d", z/60, abs(z%60)), z*60))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func pickFlags(r *rand.Rand, folder []string) []imap.Flag {
	name := folder[0]
	var f []imap.Flag
	if name == "Sent" || name == "Drafts" || r.Float64() < 0.70 {
		f = append(f, imap.FlagSeen)
	}
	if r.Float64() < 0.08 {
		f = append(f, imap.FlagFlagged)
	}
	if r.Float64() < 0.10 && name != "Drafts" {
		f = append(f, imap.FlagAnswered)
	}
	if name == "Drafts" {
		f = append(f, imap.FlagDraft)
	}
	if r.Float64() < 0.05 {
		f = append(f, "$Label1")
	}
	return f
}

func person(r *rand.Rand) string {
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	local := strings.ToLower(strings.ReplaceAll(first+"."+last, "'", ""))
	addr := local + "@" + domains[r.IntN(len(domains))]
	if strings.Contains(last, "'") {
		return fmt.Sprintf("%q <%s>", first+" "+last, addr)
	}
	return fmt.Sprintf("%s %s <%s>", first, last, addr)
}

func messageID(r *rand.Rand) string {
	return fmt.Sprintf("<%016x.%08x@%s>", r.Uint64(), r.Uint32(), domains[r.IntN(len(domains))])
}

// text returns about n bytes of word-wrapped lines ending in CRLF.
func text(r *rand.Rand, n int) string {
	var b strings.Builder
	line := 0
	for b.Len() < n {
		w := words[r.IntN(len(words))]
		if line > 0 && line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}

func rfc5322Date(t time.Time) string { return t.Format("Mon, 02 Jan 2006 15:04:05 -0700") }

// ordinaryMessage builds message i of roughly a log-uniform size between
// ~700 bytes and maxSize.
func ordinaryMessage(r *rand.Rand, i int, when time.Time, maxSize int) Message {
	lo, hi := 700.0, float64(maxSize)
	size := int(lo * math.Pow(hi/lo, r.Float64()))
	subject := fmt.Sprintf("%s [%d]", topics[r.IntN(len(topics))], i+1)
	hdate := when.Add(-time.Duration(r.IntN(600)) * time.Second)
	id := messageID(r)
	var h strings.Builder
	fmt.Fprintf(&h, "Return-Path: <bounce@%s>\r\n", domains[r.IntN(len(domains))])
	fmt.Fprintf(&h, "Received: from mx%d.%s by mail.example.com; %s\r\n", r.IntN(9)+1, domains[r.IntN(len(domains))], rfc5322Date(hdate))
	fmt.Fprintf(&h, "From: %s\r\n", person(r))
	to := []string{person(r)}
	for k := r.IntN(3); k > 0; k-- {
		to = append(to, person(r))
	}
	fmt.Fprintf(&h, "To: %s\r\n", strings.Join(to, ", "))
	if r.Float64() < 0.3 {
		fmt.Fprintf(&h, "Cc: %s\r\n", person(r))
	}
	fmt.Fprintf(&h, "Subject: %s\r\n", subject)
	fmt.Fprintf(&h, "Date: %s\r\n", rfc5322Date(hdate))
	fmt.Fprintf(&h, "Message-ID: %s\r\n", id)
	if r.Float64() < 0.3 {
		fmt.Fprintf(&h, "In-Reply-To: %s\r\n", messageID(r))
	}
	h.WriteString("MIME-Version: 1.0\r\n")
	body := size - h.Len() - 200
	if body < 100 {
		body = 100
	}
	var raw string
	switch kind := r.IntN(10); {
	case kind < 5 && size < 20000:
		raw = h.String() + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text(r, body)
	case kind < 7:
		b := fmt.Sprintf("=_alt_%012x", r.Uint64()>>16)
		t := text(r, body/2)
		html := "<html><body><p>" + strings.ReplaceAll(t, "\r\n", "<br>\r\n") + "</p></body></html>\r\n"
		raw = h.String() + fmt.Sprintf("Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", b) +
			"--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + t +
			"--" + b + "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + html +
			"--" + b + "--\r\n"
	default:
		b := fmt.Sprintf("=_mix_%012x", r.Uint64()>>16)
		t := text(r, min(1500, body/4))
		n := (body - len(t)) * 3 / 4
		if n < 64 {
			n = 64
		}
		exts := []struct{ ext, ctype string }{{"pdf", "application/pdf"}, {"jpg", "image/jpeg"}, {"zip", "application/zip"}}
		e := exts[r.IntN(len(exts))]
		raw = h.String() + fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", b) +
			"--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + t +
			"--" + b + fmt.Sprintf("\r\nContent-Type: %s; name=\"file%d.%s\"\r\n", e.ctype, i+1, e.ext) +
			fmt.Sprintf("Content-Disposition: attachment; filename=\"file%d.%s\"\r\n", i+1, e.ext) +
			"Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(randomBytes(r, n)) +
			"--" + b + "--\r\n"
	}
	return Message{Raw: []byte(raw), MessageID: id, Subject: subject}
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// base64Lines encodes data as base64 in 76-character CRLF lines.
func base64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return b.String()
}

// dropHeader removes one header field (single line) from the message.
func dropHeader(m Message, name string) Message {
	lines := bytes.SplitAfter(m.Raw, []byte("\r\n"))
	var out []byte
	for _, l := range lines {
		if bytes.HasPrefix(bytes.ToLower(l), []byte(strings.ToLower(name)+":")) {
			continue
		}
		out = append(out, l...)
	}
	m.Raw = out
	if strings.EqualFold(name, "Message-ID") {
		m.MessageID = ""
	}
	return m
}

func replaceMessageID(m Message, id string) Message {
	m.Raw = bytes.Replace(m.Raw, []byte("Message-ID: "+m.MessageID), []byte("Message-ID: "+id), 1)
	m.MessageID = id
	return m
}

// edgeMessages are the hard cases added by Spec.Edge.
func edgeMessages(spec Spec) []Message {
	r := rand.New(rand.NewPCG(uint64(spec.Seed), 0x65646765)) // "edge"
	var out []Message
	add := func(folder []string, flags []imap.Flag, subject, raw string) {
		id := ""
		if i := strings.Index(raw, "Message-ID: "); i >= 0 {
			id = raw[i+len("Message-ID: "):]
			id = id[:strings.IndexAny(id, "\r\n")]
		}
		out = append(out, Message{Folder: folder, Flags: flags, InternalDate: randomTime(r),
			MessageID: id, Subject: subject, Raw: []byte(raw)})
	}
	hdr := func(subject, extra string) string {
		return "From: Edge Tester <edge@example.com>\r\nTo: alice@example.com\r\nSubject: " + subject +
			"\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: " + messageID(r) + "\r\n" + extra
	}
	seen := []imap.Flag{imap.FlagSeen}

	subj := "Grüße aus Köln – 日本語の件名"
	add(edgeFolder, seen, subj, "From: Jörg Müller <joerg@example.de>\r\nTo: Zoë Ñandú <zoe@example.es>\r\n"+
		"Subject: "+subj+"\r\nDate: Tue, 02 Jan 2024 09:00:00 +0100\r\nMessage-ID: "+messageID(r)+
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nRaw 8-bit headers.\r\n")
	add(edgeFolder, nil, "bare LF message", strings.ReplaceAll(hdr("bare LF message", "")+"\r\nline one\r\nline two\r\n", "\r\n", "\n"))
	add(edgeFolder, nil, "empty body", hdr("empty body", "")+"\r\n")
	add(edgeFolder, seen, "no date header", "From: Edge Tester <edge@example.com>\r\nTo: alice@example.com\r\n"+
		"Subject: no date header\r\nMessage-ID: "+messageID(r)+"\r\n\r\nThis message has no Date header.\r\n")
	for _, s := range []string{
		"=?UTF-8?B?w4lsw6hyZSDDoCBsYSBwbGFnZQ==?=",
		"=?ISO-8859-1?Q?Caf=E9_cr=E8me?= and =?UTF-8?Q?na=C3=AFve?=",
		"=?utf-8?q?broken_encoded_word?= =?x-unknown?b?Zm9v?=",
	} {
		add(edgeFolder, seen, s, hdr(s, "")+"\r\nencoded subject\r\n")
	}
	refs := make([]string, 40)
	for i := range refs {
		refs[i] = messageID(r)
	}
	add(edgeFolder, nil, "very long header", hdr("very long header",
		"X-Long: "+strings.Repeat("x", 10000)+"\r\nReferences: "+strings.Join(refs, "\r\n ")+"\r\n")+"\r\nlong headers\r\n")
	blob := make([]byte, 0, 8000)
	for len(blob) < 8000 {
		if c := byte(r.Uint32()); c != 0 && c != '\r' && c != '\n' {
			blob = append(blob, c)
		}
	}
	b := "=_bin_boundary"
	add([]string{"Files"}, seen, "binary attachment", hdr("binary attachment",
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\""+b+"\"\r\n")+
		"\r\n--"+b+"\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--"+b+
		"\r\nContent-Type: application/octet-stream; name=blob.bin\r\nContent-Transfer-Encoding: binary\r\n\r\n"+
		string(blob)+"\r\n--"+b+"--\r\n")
	head := hdr("largest message", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\""+b+"\"\r\n") +
		"\r\n--" + b + "\r\nContent-Type: text/plain\r\n\r\nbig one\r\n--" + b +
		"\r\nContent-Type: application/zip; name=big.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	tail := "--" + b + "--\r\n"
	largest := spec.MaxSize
	if spec.LargestSize > 0 {
		largest = spec.LargestSize
	}
	n := (largest - len(head) - len(tail)) * 57 / 78 // base64 with CRLF every 76 chars
	add(edgeFolder, []imap.Flag{imap.FlagSeen, imap.FlagFlagged}, "largest message", head+base64Lines(randomBytes(r, max(n, 64)))+tail)
	add(edgeUnsubscribed, nil, "in an unsubscribed folder", hdr("in an unsubscribed folder", "")+"\r\nhi\r\n")
	add(edgeCaseTwin, seen, "in lower-case archive", hdr("in lower-case archive", "")+"\r\nlower-case twin of Archive\r\n")
	return out
}
