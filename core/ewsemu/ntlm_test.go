package ewsemu

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/go-ntlmssp"
)

func TestMD4AndNTOWFv2KnownAnswers(t *testing.T) {
	// RFC 1320 test suite.
	for in, want := range map[string]string{
		"":    "31d6cfe0d16ae931b73c59d7e0c089c0",
		"abc": "a448017aaf21d8525fc10ae87aa6729d",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "e33b4ddc9c38f2199c3e7b164fcc0536",
	} {
		if got := hex.EncodeToString(md4Sum([]byte(in))); got != want {
			t.Errorf("md4(%q) = %s, want %s", in, got, want)
		}
	}
	// MS-NLMP 4.2.4.1.1: NTOWFv2("Password", "User", "Domain").
	if got := hex.EncodeToString(ntowfv2("Password", "User", "Domain")); got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Errorf("NTOWFv2 = %s", got)
	}
}

func ntlmClient(s *Server) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: ntlmssp.Negotiator{RoundTripper: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.CertPool()},
		}},
	}
}

func TestNTLMWithGoNTLMSSP(t *testing.T) {
	s := startTest(t, func(o *Options) { o.DisableBasic = true })
	c := ntlmClient(s)
	req := soap("", findFolderBody("Shallow", distinguished("msgfolderroot", ""), ""))
	for _, login := range []string{"alice", `MAILFERRY\alice`, aliceAddr} {
		r := post(t, c, s.EWSURL(), login, "alice-pw", req)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", login, r.Status, r.Body)
		}
		// Same connection, already authenticated.
		if r := post(t, c, s.EWSURL(), login, "alice-pw", req); r.Status != http.StatusOK {
			t.Fatalf("%s again: HTTP %d", login, r.Status)
		}
	}
	bad := ntlmClient(s)
	if r := post(t, bad, s.EWSURL(), "alice", "wrong", req); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: HTTP %d", r.Status)
	}
	if s.Stats().AuthFailures == 0 {
		t.Error("auth failure not counted")
	}
	// A large body survives the handshake (the server drains it on 401).
	big := soap("", createItem(distinguished("inbox", ""), message(mimeMsg("big", "big@x", 2<<20), nil, tagProp("0x0E07", "Integer", "1"))))
	if r := post(t, ntlmClient(s), s.EWSURL(), "alice", "alice-pw", big); r.Status != http.StatusOK {
		t.Errorf("large request over NTLM: HTTP %d", r.Status)
	}
}

func TestNTLMExtendedProtection(t *testing.T) {
	s := startTest(t, func(o *Options) { o.RequireEPA = true; o.DisableBasic = true })
	req := soap("", findFolderBody("Shallow", distinguished("msgfolderroot", ""), ""))

	// go-ntlmssp sends no channel binding: rejected.
	if r := post(t, ntlmClient(s), s.EWSURL(), "alice", "alice-pw", req); r.Status != http.StatusUnauthorized {
		t.Fatalf("without CBT: HTTP %d", r.Status)
	}
	// With the right binding: accepted.
	status, body := cbtHandshake(t, s, "alice", "alice-pw", req, func(cert []byte) []byte { return independentCBT(cert) })
	if status != http.StatusOK {
		t.Fatalf("with CBT: HTTP %d %s", status, body)
	}
	// A binding for another certificate: rejected.
	status, _ = cbtHandshake(t, s, "alice", "alice-pw", req, func(cert []byte) []byte { return independentCBT(append(cert, 0)) })
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong CBT: HTTP %d", status)
	}
	// Right binding, wrong password: rejected.
	status, _ = cbtHandshake(t, s, "alice", "nope", req, func(cert []byte) []byte { return independentCBT(cert) })
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", status)
	}

	// Without RequireEPA a missing binding is fine, a wrong one is not.
	s2 := startTest(t, nil)
	if r := post(t, ntlmClient(s2), s2.EWSURL(), "alice", "alice-pw", req); r.Status != http.StatusOK {
		t.Errorf("EPA off, no CBT: HTTP %d", r.Status)
	}
	status, _ = cbtHandshake(t, s2, "alice", "alice-pw", req, func(cert []byte) []byte { return independentCBT(append(cert, 0)) })
	if status != http.StatusUnauthorized {
		t.Errorf("EPA off, wrong CBT: HTTP %d", status)
	}
}

// independentCBT builds the MsvAvChannelBindings value from the DER
// certificate the client saw, without the server's helper: MD5 over a
// gss_channel_bindings_struct with empty addresses and application data
// "tls-server-end-point:" || SHA-256(cert).
func independentCBT(der []byte) []byte {
	h := sha256.Sum256(der)
	app := append([]byte("tls-server-end-point:"), h[:]...)
	var b bytes.Buffer
	b.Write(make([]byte, 16)) // initiator addrtype+len, acceptor addrtype+len
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(app)))
	b.Write(app)
	sum := md5.Sum(b.Bytes())
	return sum[:]
}

// cbtHandshake runs an NTLMv2 handshake on one connection with an
// MsvAvChannelBindings AV pair computed by cbt from the server certificate.
func cbtHandshake(t *testing.T, s *Server, user, pass, body string, cbt func(cert []byte) []byte) (int, string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}, MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	do := func(auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.EWSURL(), strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	neg, err := ntlmssp.NewNegotiateMessage("", "")
	if err != nil {
		t.Fatal(err)
	}
	resp := do("NTLM " + base64.StdEncoding.EncodeToString(neg))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(h, "NTLM ") {
		t.Fatalf("no challenge: HTTP %d %q", resp.StatusCode, h)
	}
	ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "NTLM "))
	if err != nil || len(ch) < 48 {
		t.Fatalf("challenge: %v", err)
	}
	serverChallenge := ch[24:32]
	targetInfo, err := varField(ch, 40)
	if err != nil {
		t.Fatal(err)
	}
	cert := resp.TLS.PeerCertificates[0].Raw

	// AV pairs: the server's, minus EOL, plus channel bindings, plus EOL.
	avs := bytes.TrimSuffix(targetInfo, []byte{0, 0, 0, 0})
	var ti bytes.Buffer
	ti.Write(avs)
	_ = binary.Write(&ti, binary.LittleEndian, uint16(avChannelBindings))
	_ = binary.Write(&ti, binary.LittleEndian, uint16(16))
	ti.Write(cbt(cert))
	ti.Write([]byte{0, 0, 0, 0})

	temp := []byte{1, 1, 0, 0, 0, 0, 0, 0}
	temp = binary.LittleEndian.AppendUint64(temp, filetime(time.Now()))
	temp = append(temp, []byte("cliechal")...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ti.Bytes()...)
	temp = append(temp, 0, 0, 0, 0)
	domain := "MAILFERRY"
	nt := append(hmacMD5(ntowfv2(pass, user, domain), serverChallenge, temp), temp...)

	fields := [][]byte{make([]byte, 24), nt, utf16le(domain), utf16le(user), utf16le("WS")}
	msg := make([]byte, 64)
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 3)
	off := 64
	for i, f := range fields { // Lm, Nt, Domain, User, Workstation security buffers at 12, 20, 28, 36, 44
		p := 12 + 8*i
		binary.LittleEndian.PutUint16(msg[p:], uint16(len(f)))
		binary.LittleEndian.PutUint16(msg[p+2:], uint16(len(f)))
		binary.LittleEndian.PutUint32(msg[p+4:], uint32(off))
		off += len(f)
	}
	binary.LittleEndian.PutUint32(msg[52+4:], uint32(off)) // empty session key buffer
	binary.LittleEndian.PutUint32(msg[60:], ntlmFlagUnicode|ntlmFlagNTLM|ntlmFlagExtendedSession|ntlmFlagTargetInfo)
	for _, f := range fields {
		msg = append(msg, f...)
	}
	resp = do("NTLM " + base64.StdEncoding.EncodeToString(msg))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
