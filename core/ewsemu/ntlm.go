package ewsemu

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"
)

// Server side of NTLMv2 (MS-NLMP) over HTTP (RFC 4559 style, raw NTLMSSP
// tokens under the "NTLM" or "Negotiate" scheme). NTLM authenticates the
// TCP connection: after a successful handshake, later requests on the same
// connection are accepted without an Authorization header, as IIS does.

var ntlmSignature = []byte("NTLMSSP\x00")

const (
	ntlmFlagUnicode          = 0x00000001
	ntlmFlagRequestTarget    = 0x00000004
	ntlmFlagNTLM             = 0x00000200
	ntlmFlagAlwaysSign       = 0x00008000
	ntlmFlagTargetTypeDomain = 0x00010000
	ntlmFlagExtendedSession  = 0x00080000
	ntlmFlagTargetInfo       = 0x00800000
	ntlmFlagVersion          = 0x02000000
	ntlmFlag128              = 0x20000000
	ntlmFlag56               = 0x80000000
)

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avFlags           = 6
	avTimestamp       = 7
	avTargetName      = 9
	avChannelBindings = 10
)

type ntlmConn struct {
	challenge [8]byte
	scheme    string
	issued    time.Time
	user      *User
}

func (s *Server) connUser(r *http.Request) *User {
	s.ntlmMu.Lock()
	defer s.ntlmMu.Unlock()
	if c := s.ntlmConns[r.RemoteAddr]; c != nil && c.user != nil {
		u := *c.user
		return &u
	}
	return nil
}

func (s *Server) forgetConn(addr string) {
	s.ntlmMu.Lock()
	delete(s.ntlmConns, addr)
	s.ntlmMu.Unlock()
}

// ntlmStep handles one NTLM leg. It returns the user once the AUTHENTICATE
// message verifies; challengeSent is true when it answered a NEGOTIATE.
func (s *Server) ntlmStep(w http.ResponseWriter, r *http.Request, scheme, data string) (u *User, challengeSent bool) {
	tok, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(tok) < 12 || !bytes.Equal(tok[:8], ntlmSignature) {
		s.log.Debug("ews emulator: not an NTLMSSP token (Kerberos/SPNEGO is not supported)")
		return nil, false
	}
	switch binary.LittleEndian.Uint32(tok[8:12]) {
	case 1:
		var ch [8]byte
		copy(ch[:], randomBytes(8))
		msg := s.challengeMessage(ch)
		s.ntlmMu.Lock()
		s.ntlmConns[r.RemoteAddr] = &ntlmConn{challenge: ch, scheme: scheme, issued: time.Now()}
		s.ntlmMu.Unlock()
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(msg))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		return nil, true
	case 3:
		s.ntlmMu.Lock()
		c := s.ntlmConns[r.RemoteAddr]
		s.ntlmMu.Unlock()
		if c == nil || c.user != nil {
			s.log.Debug("ews emulator: NTLM AUTHENTICATE without a challenge on this connection")
			return nil, false
		}
		user, err := s.verifyAuthenticate(tok, c.challenge, r)
		if err != nil {
			s.log.Debug("ews emulator: NTLM authentication failed", "err", err)
			s.forgetConn(r.RemoteAddr)
			return nil, false
		}
		s.ntlmMu.Lock()
		c.user = user
		s.ntlmMu.Unlock()
		return user, false
	}
	return nil, false
}

func (s *Server) challengeMessage(ch [8]byte) []byte {
	domain := utf16le(strings.ToUpper(s.opts.NTLMDomain))
	computer := utf16le("EXCH01")
	dnsDomain := utf16le(strings.ToLower(s.opts.NTLMDomain) + ".local")
	dnsComputer := utf16le("exch01." + strings.ToLower(s.opts.NTLMDomain) + ".local")
	var ti bytes.Buffer
	putAV := func(id uint16, v []byte) {
		_ = binary.Write(&ti, binary.LittleEndian, id)
		_ = binary.Write(&ti, binary.LittleEndian, uint16(len(v)))
		ti.Write(v)
	}
	putAV(avNbDomainName, domain)
	putAV(avNbComputerName, computer)
	putAV(avDNSDomainName, dnsDomain)
	putAV(avDNSComputerName, dnsComputer)
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(time.Now()))
	putAV(avTimestamp, ts)
	putAV(avEOL, nil)

	flags := uint32(ntlmFlagUnicode | ntlmFlagRequestTarget | ntlmFlagNTLM | ntlmFlagAlwaysSign |
		ntlmFlagTargetTypeDomain | ntlmFlagExtendedSession | ntlmFlagTargetInfo | ntlmFlagVersion |
		ntlmFlag128 | ntlmFlag56)
	const hdr = 56
	var b bytes.Buffer
	b.Write(ntlmSignature)
	_ = binary.Write(&b, binary.LittleEndian, uint32(2))
	// TargetName
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(domain)))
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(domain)))
	_ = binary.Write(&b, binary.LittleEndian, uint32(hdr))
	_ = binary.Write(&b, binary.LittleEndian, flags)
	b.Write(ch[:])
	b.Write(make([]byte, 8)) // reserved
	// TargetInfo
	_ = binary.Write(&b, binary.LittleEndian, uint16(ti.Len()))
	_ = binary.Write(&b, binary.LittleEndian, uint16(ti.Len()))
	_ = binary.Write(&b, binary.LittleEndian, uint32(hdr+len(domain)))
	// Version: Windows 10.0 build 17763, NTLM revision 15.
	b.Write([]byte{10, 0, 0x03, 0x45, 0, 0, 0, 15})
	b.Write(domain)
	b.Write(ti.Bytes())
	return b.Bytes()
}

// varField reads a security buffer (len, maxlen, offset) at off.
func varField(msg []byte, off int) ([]byte, error) {
	if off+8 > len(msg) {
		return nil, errors.New("message too short")
	}
	l := int(binary.LittleEndian.Uint16(msg[off:]))
	o := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if o < 0 || l < 0 || o+l > len(msg) {
		return nil, errors.New("security buffer out of range")
	}
	return msg[o : o+l], nil
}

func (s *Server) verifyAuthenticate(msg []byte, challenge [8]byte, r *http.Request) (*User, error) {
	if len(msg) < 64 {
		return nil, errors.New("AUTHENTICATE message too short")
	}
	flags := binary.LittleEndian.Uint32(msg[60:64])
	if flags&ntlmFlagUnicode == 0 {
		return nil, errors.New("only Unicode NTLM is supported")
	}
	nt, err := varField(msg, 20)
	if err != nil {
		return nil, fmt.Errorf("NtChallengeResponse: %w", err)
	}
	dom, err := varField(msg, 28)
	if err != nil {
		return nil, fmt.Errorf("DomainName: %w", err)
	}
	usr, err := varField(msg, 36)
	if err != nil {
		return nil, fmt.Errorf("UserName: %w", err)
	}
	if len(nt) <= 24 {
		return nil, errors.New("NTLMv1 responses are not accepted (LmCompatibilityLevel 5)")
	}
	userName, domain := fromUTF16le(usr), fromUTF16le(dom)
	login := userName
	if domain != "" && !strings.Contains(userName, "@") {
		login = domain + `\` + userName
	}
	u := s.findUser(login)
	if u == nil {
		return nil, fmt.Errorf("unknown user %q", login)
	}
	proof, temp := nt[:16], nt[16:]
	key := ntowfv2(u.Password, userName, domain)
	want := hmacMD5(key, challenge[:], temp)
	if !hmac.Equal(proof, want) {
		return nil, fmt.Errorf("wrong password for %q", login)
	}
	// temp: 0x01 0x01, 6 reserved, timestamp(8), client challenge(8), 4 reserved, AV pairs.
	if len(temp) < 28 || temp[0] != 1 || temp[1] != 1 {
		return nil, errors.New("malformed NTLMv2 client challenge")
	}
	avs, err := parseAVPairs(temp[28:])
	if err != nil {
		return nil, err
	}
	if r.TLS != nil {
		got := avs[avChannelBindings]
		present := len(got) == 16 && !bytes.Equal(got, make([]byte, 16))
		switch {
		case present && subtle.ConstantTimeCompare(got, s.cbtHash) != 1:
			return nil, errors.New("channel binding token does not match this TLS channel")
		case !present && s.opts.RequireEPA:
			return nil, errors.New("Extended Protection required: no channel binding token")
		}
	}
	return u, nil
}

func parseAVPairs(b []byte) (map[uint16][]byte, error) {
	out := map[uint16][]byte{}
	for len(b) >= 4 {
		id := binary.LittleEndian.Uint16(b)
		l := int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return out, nil
		}
		if 4+l > len(b) {
			return nil, errors.New("AV pair out of range")
		}
		out[id] = b[4 : 4+l]
		b = b[4+l:]
	}
	return nil, errors.New("AV pair list not terminated")
}

// ChannelBindingHash returns the MsvAvChannelBindings value for a TLS
// server certificate: MD5 of a gss_channel_bindings_struct whose address
// fields are empty and whose application data is "tls-server-end-point:"
// followed by the certificate hash (RFC 5929 section 4, RFC 5056).
func ChannelBindingHash(certHash []byte) []byte {
	app := append([]byte("tls-server-end-point:"), certHash...)
	b := make([]byte, 20, 20+len(app))
	binary.LittleEndian.PutUint32(b[16:], uint32(len(app)))
	b = append(b, app...)
	sum := md5.Sum(b)
	return sum[:]
}

func ntowfv2(password, user, domain string) []byte {
	return hmacMD5(md4Sum(utf16le(password)), utf16le(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// filetime converts to Windows FILETIME (100 ns since 1601-01-01).
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}

// md4Sum is MD4 (RFC 1320), needed for the NT hash; the standard library
// does not have it.
func md4Sum(msg []byte) []byte {
	a, b, c, d := uint32(0x67452301), uint32(0xefcdab89), uint32(0x98badcfe), uint32(0x10325476)
	n := len(msg)
	pad := make([]byte, 0, n+72)
	pad = append(pad, msg...)
	pad = append(pad, 0x80)
	for len(pad)%64 != 56 {
		pad = append(pad, 0)
	}
	pad = binary.LittleEndian.AppendUint64(pad, uint64(n)*8)
	var x [16]uint32
	for off := 0; off < len(pad); off += 64 {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(pad[off+4*i:])
		}
		aa, bb, cc, dd := a, b, c, d
		f := func(x, y, z uint32) uint32 { return x&y | ^x&z }
		g := func(x, y, z uint32) uint32 { return x&y | x&z | y&z }
		h := func(x, y, z uint32) uint32 { return x ^ y ^ z }
		for _, i := range [4]int{0, 4, 8, 12} {
			a = bits.RotateLeft32(a+f(b, c, d)+x[i], 3)
			d = bits.RotateLeft32(d+f(a, b, c)+x[i+1], 7)
			c = bits.RotateLeft32(c+f(d, a, b)+x[i+2], 11)
			b = bits.RotateLeft32(b+f(c, d, a)+x[i+3], 19)
		}
		for _, i := range [4]int{0, 1, 2, 3} {
			a = bits.RotateLeft32(a+g(b, c, d)+x[i]+0x5a827999, 3)
			d = bits.RotateLeft32(d+g(a, b, c)+x[i+4]+0x5a827999, 5)
			c = bits.RotateLeft32(c+g(d, a, b)+x[i+8]+0x5a827999, 9)
			b = bits.RotateLeft32(b+g(c, d, a)+x[i+12]+0x5a827999, 13)
		}
		for _, i := range [4]int{0, 2, 1, 3} {
			a = bits.RotateLeft32(a+h(b, c, d)+x[i]+0x6ed9eba1, 3)
			d = bits.RotateLeft32(d+h(a, b, c)+x[i+8]+0x6ed9eba1, 9)
			c = bits.RotateLeft32(c+h(d, a, b)+x[i+4]+0x6ed9eba1, 11)
			b = bits.RotateLeft32(b+h(c, d, a)+x[i+12]+0x6ed9eba1, 15)
		}
		a, b, c, d = a+aa, b+bb, c+cc, d+dd
	}
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:], a)
	binary.LittleEndian.PutUint32(out[4:], b)
	binary.LittleEndian.PutUint32(out[8:], c)
	binary.LittleEndian.PutUint32(out[12:], d)
	return out
}
