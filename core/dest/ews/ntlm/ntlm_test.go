package ntlm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMD4RFC1320(t *testing.T) {
	for in, want := range map[string]string{
		"":    "31d6cfe0d16ae931b73c59d7e0c089c0",
		"a":   "bde52cb31de33e46245e05fbdbd6fb24",
		"abc": "a448017aaf21d8525fc10ae87aa6729d",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "e33b4ddc9c38f2199c3e7b164fcc0536",
	} {
		got := md4([]byte(in))
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("md4(%q) = %x, want %s", in, got, want)
		}
	}
}

// TestNTLMv2SpecVectors checks the key derivation against [MS-NLMP] 4.2.4.
func TestNTLMv2SpecVectors(t *testing.T) {
	key := NTOWFv2("Password", "User", "Domain")
	if want := unhex(t, "0c868a403bfd7a93a3001ef22ef02e3f"); !bytes.Equal(key, want) {
		t.Fatalf("NTOWFv2 = %x, want %x", key, want)
	}
	ti := unhex(t, "02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000")
	blob := append(unhex(t, "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000"), ti...)
	blob = append(blob, 0, 0, 0, 0)
	proof := hmacMD5(key, unhex(t, "0123456789abcdef"), blob)
	if want := unhex(t, "68cd0ab851e51c96aabc927bebef6a1c"); !bytes.Equal(proof, want) {
		t.Fatalf("NTProofStr = %x, want %x", proof, want)
	}
	if got, want := hmacMD5(key, proof), unhex(t, "8de40ccadbc14a82f15cb0ad0de95ca3"); !bytes.Equal(got, want) {
		t.Fatalf("SessionBaseKey = %x, want %x", got, want)
	}
}

// TestChannelBindingVector checks the gss_channel_bindings_struct hash
// against bytes laid out by hand from RFC 2744 / RFC 5929 (MD5 computed
// independently with Python's hashlib).
func TestChannelBindingVector(t *testing.T) {
	ep := make([]byte, 32)
	for i := range ep {
		ep[i] = byte(i)
	}
	// 4 zero words (address types and lengths), then length 0x35 = 21+32,
	// then "tls-server-end-point:" and the 32 hash bytes.
	if got, want := channelBindingHashOf(ep), unhex(t, "8f1214c9c9cab8dc3bf866da9aba57a7"); !bytes.Equal(got, want) {
		t.Fatalf("channel binding hash = %x, want %x", got, want)
	}
}

func selfSigned(t *testing.T, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	curve := elliptic.P256()
	if alg == x509.ECDSAWithSHA384 {
		curve = elliptic.P384()
	}
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLSServerEndPointHashChoice(t *testing.T) {
	c256 := selfSigned(t, x509.ECDSAWithSHA256)
	if s := sha256.Sum256(c256.Raw); !bytes.Equal(TLSServerEndPoint(c256), s[:]) {
		t.Error("SHA-256 signed certificate: want SHA-256 of DER")
	}
	c384 := selfSigned(t, x509.ECDSAWithSHA384)
	if s := sha512.Sum384(c384.Raw); !bytes.Equal(TLSServerEndPoint(c384), s[:]) {
		t.Error("SHA-384 signed certificate: want SHA-384 of DER")
	}
	c1 := &x509.Certificate{Raw: []byte("x"), SignatureAlgorithm: x509.SHA1WithRSA}
	if s := sha256.Sum256(c1.Raw); !bytes.Equal(TLSServerEndPoint(c1), s[:]) {
		t.Error("SHA-1 signed certificate: RFC 5929 says SHA-256")
	}
}

// challengeMsg builds a CHALLENGE message as Windows does, with a timestamp.
func challengeMsg(serverChallenge []byte) []byte {
	ti := MarshalAvPairs([]AvPair{
		{AvNbDomainName, toUnicode("CORP")},
		{AvNbComputerName, toUnicode("EXCH1")},
		{AvDNSDomainName, toUnicode("corp.example.com")},
		{AvTimestamp, binary.LittleEndian.AppendUint64(nil, 133000000000000000)},
	})
	name := toUnicode("CORP")
	b := make([]byte, 56)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], 2)
	binary.LittleEndian.PutUint16(b[12:], uint16(len(name)))
	binary.LittleEndian.PutUint16(b[14:], uint16(len(name)))
	binary.LittleEndian.PutUint32(b[16:], 56)
	binary.LittleEndian.PutUint32(b[20:], FlagUnicode|FlagNTLM|FlagExtendedSecurity|FlagTargetInfo|FlagVersion|Flag128|Flag56|FlagAlwaysSign|FlagRequestTarget)
	copy(b[24:32], serverChallenge)
	binary.LittleEndian.PutUint16(b[40:], uint16(len(ti)))
	binary.LittleEndian.PutUint16(b[42:], uint16(len(ti)))
	binary.LittleEndian.PutUint32(b[44:], uint32(56+len(name)))
	copy(b[48:], version)
	b = append(b, name...)
	return append(b, ti...)
}

// TestCrossCheckGoNTLMSSP verifies our NTLMv2 proof computation against the
// response github.com/Azure/go-ntlmssp builds for the same challenge.
func TestCrossCheckGoNTLMSSP(t *testing.T) {
	ch := challengeMsg([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	msg, err := ntlmssp.NewAuthenticateMessage(ch, `CORP\alice`, "pässwörd", nil)
	if err != nil {
		t.Fatal(err)
	}
	nt, err := field(msg, 20)
	if err != nil {
		t.Fatal(err)
	}
	proof := hmacMD5(NTOWFv2("pässwörd", "alice", "CORP"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, nt[16:])
	if !bytes.Equal(proof, nt[:16]) {
		t.Fatalf("our NTProofStr %x != go-ntlmssp's %x", proof, nt[:16])
	}
}

func TestAuthenticateCarriesBindingsAndMIC(t *testing.T) {
	neg := NegotiateMessage()
	ch := challengeMsg([]byte("8bytes!!"))
	cb := channelBindingHashOf(make([]byte, 32))
	a := Auth{User: `CORP\alice`, Password: "secret", ChannelBindings: cb, SPN: "HTTP/mail.example.com",
		clientChallenge: []byte("cccccccc")}
	msg, err := a.Authenticate(neg, ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(neg, ch, msg, "secret", cb); err != nil {
		t.Fatalf("verify: %v", err)
	}
	p, _ := ParseAuthenticate(msg)
	if p.User != "alice" || p.Domain != "CORP" {
		t.Errorf("user/domain = %q/%q", p.User, p.Domain)
	}
	var flags uint32
	var spn string
	for _, av := range p.TargetInfo {
		switch av.ID {
		case AvFlags:
			flags = binary.LittleEndian.Uint32(av.Value)
		case AvTargetName:
			spn = fromUnicode(av.Value)
		}
	}
	if flags&AvFlagMIC == 0 || spn != "HTTP/mail.example.com" {
		t.Errorf("MsvAvFlags = %#x, SPN %q", flags, spn)
	}
	if err := Verify(neg, ch, msg, "wrong", cb); err == nil {
		t.Error("wrong password verified")
	}
	if err := Verify(neg, ch, msg, "secret", make([]byte, 16)); err == nil {
		t.Error("wrong channel binding verified")
	}
	tampered := append([]byte(nil), msg...)
	binary.LittleEndian.PutUint32(tampered[60:], binary.LittleEndian.Uint32(tampered[60:])|FlagKeyExch)
	if err := Verify(neg, ch, tampered, "secret", cb); err == nil {
		t.Error("tampered flags passed the MIC")
	}
	if err := Verify(NegotiateMessage()[:39], ch, msg, "secret", cb); err == nil {
		t.Error("different NEGOTIATE passed the MIC")
	}
}

// epaServer is an HTTPS server that authenticates connections with NTLM,
// requiring the channel binding of its own certificate (Extended
// Protection "Require"), like IIS: authentication sticks to a connection.
type epaServer struct {
	srv        *httptest.Server
	handshakes atomic.Int32
	requests   atomic.Int32
	mu         sync.Mutex
	conns      map[string]*connState
}

type connState struct {
	neg, ch []byte
	authed  bool
}

func newEPAServer(t *testing.T, password string) *epaServer {
	e := &epaServer{conns: map[string]*connState{}}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		cs := e.conns[r.RemoteAddr]
		if cs == nil {
			cs = &connState{}
			e.conns[r.RemoteAddr] = cs
		}
		e.mu.Unlock()
		auth := r.Header.Get("Authorization")
		switch {
		case auth == "" && cs.authed:
		case strings.HasPrefix(auth, "NTLM "):
			tok, _ := base64.StdEncoding.DecodeString(auth[5:])
			switch binary.LittleEndian.Uint32(tok[8:]) {
			case 1:
				cs.neg = tok
				cs.ch = challengeMsg([]byte("servchal"))
				w.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(cs.ch))
				w.WriteHeader(http.StatusUnauthorized)
				return
			case 3:
				want := ChannelBindingHash(e.srv.Certificate())
				if err := Verify(cs.neg, cs.ch, tok, password, want); err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				cs.authed = true
				e.handshakes.Add(1)
			}
		default:
			w.Header().Add("WWW-Authenticate", "Negotiate")
			w.Header().Add("WWW-Authenticate", "NTLM")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		e.requests.Add(1)
		w.Write(body)
	}))
	e.srv.EnableHTTP2 = false
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

func TestTransportExtendedProtection(t *testing.T) {
	e := newEPAServer(t, "s3cret")
	base := e.srv.Client().Transport.(*http.Transport)
	tr := &Transport{Base: base, User: `CORP\alice`, Password: "s3cret"}
	c := &http.Client{Transport: tr}
	for i := 0; i < 5; i++ {
		body := strings.Repeat("x", 1000*i)
		resp, err := c.Post(e.srv.URL+"/EWS/Exchange.asmx", "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != body {
			t.Fatalf("request %d: status %d body %d bytes", i, resp.StatusCode, len(got))
		}
	}
	if n := e.handshakes.Load(); n != 1 {
		t.Errorf("handshakes = %d, want 1 (the connection stays authenticated)", n)
	}

	// Wrong password: a 401 comes back, not an error.
	bad := &http.Client{Transport: &Transport{Base: base, User: `CORP\alice`, Password: "nope"}}
	resp, err := bad.Post(e.srv.URL, "text/xml", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d", resp.StatusCode)
	}

	// go-ntlmssp sends no channel binding: Extended Protection refuses it.
	plain := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: base.Clone()}}
	req, _ := http.NewRequest("POST", e.srv.URL, strings.NewReader("x"))
	req.SetBasicAuth(`CORP\alice`, "s3cret")
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("go-ntlmssp without CBT: status %d, want 401", resp.StatusCode)
	}
}

func TestTransportConcurrentAndReconnect(t *testing.T) {
	e := newEPAServer(t, "pw")
	tr := &Transport{Base: e.srv.Client().Transport.(*http.Transport), User: "alice@corp.example.com", Password: "pw"}
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Post(e.srv.URL, "text/xml", bytes.NewReader([]byte("hello")))
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- io.ErrUnexpectedEOF
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Drop every connection: sessions must re-authenticate transparently.
	// (A GET, which net/http retries by itself when the server closed the
	// idle connection first; for a POST that ambiguity is the caller's.)
	e.srv.CloseClientConnections()
	before := e.handshakes.Load()
	resp, err := c.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || e.handshakes.Load() != before+1 {
		t.Errorf("after reconnect: status %d, handshakes %d→%d", resp.StatusCode, before, e.handshakes.Load())
	}
	if _, err := (&http.Client{Transport: &Transport{User: "a", Password: "b"}}).Get("http://" + net.JoinHostPort("127.0.0.1", "1")); err == nil || !strings.Contains(err.Error(), "https required") {
		t.Errorf("plain http: %v", err)
	}
}
