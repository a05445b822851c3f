package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Negotiate flags used here ([MS-NLMP] 2.2.2.5).
const (
	FlagUnicode          uint32 = 1 << 0
	FlagRequestTarget    uint32 = 1 << 2
	FlagSign             uint32 = 1 << 4
	FlagNTLM             uint32 = 1 << 9
	FlagAlwaysSign       uint32 = 1 << 15
	FlagExtendedSecurity uint32 = 1 << 19
	FlagTargetInfo       uint32 = 1 << 23
	FlagVersion          uint32 = 1 << 25
	Flag128              uint32 = 1 << 29
	FlagKeyExch          uint32 = 1 << 30
	Flag56               uint32 = 1 << 31
	flagLMKey            uint32 = 1 << 7
)

// AV pair ids ([MS-NLMP] 2.2.2.1).
const (
	AvEOL             uint16 = 0
	AvNbComputerName  uint16 = 1
	AvNbDomainName    uint16 = 2
	AvDNSComputerName uint16 = 3
	AvDNSDomainName   uint16 = 4
	AvFlags           uint16 = 6
	AvTimestamp       uint16 = 7
	AvTargetName      uint16 = 9
	AvChannelBindings uint16 = 10
)

// AvFlagMIC in MsvAvFlags says the AUTHENTICATE message carries a MIC.
const AvFlagMIC uint32 = 0x2

var signature = []byte("NTLMSSP\x00")

// clientFlags are the flags of our NEGOTIATE message.
const clientFlags = FlagUnicode | FlagRequestTarget | FlagNTLM | FlagAlwaysSign |
	FlagExtendedSecurity | FlagTargetInfo | FlagVersion | Flag128 | Flag56

// version is the 8-byte VERSION structure we send (Windows 10, NTLM rev 15).
var version = []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15}

// NegotiateMessage returns a NEGOTIATE_MESSAGE without domain or workstation.
func NegotiateMessage() []byte {
	b := make([]byte, 0, 40)
	b = append(b, signature...)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, clientFlags)
	b = append(b, make([]byte, 16)...) // empty domain and workstation fields
	b = append(b, version...)
	return b
}

// AvPair is one attribute-value pair of a target info block.
type AvPair struct {
	ID    uint16
	Value []byte
}

// Challenge is a parsed CHALLENGE_MESSAGE.
type Challenge struct {
	Flags           uint32
	ServerChallenge [8]byte
	TargetName      string
	TargetInfo      []AvPair // without the terminating MsvAvEOL
	Raw             []byte
}

// Get returns the value of the first pair with id, or nil.
func (c *Challenge) Get(id uint16) []byte {
	for _, p := range c.TargetInfo {
		if p.ID == id {
			return p.Value
		}
	}
	return nil
}

func field(msg []byte, off int) ([]byte, error) {
	if len(msg) < off+8 {
		return nil, errors.New("message too short")
	}
	l := int(binary.LittleEndian.Uint16(msg[off:]))
	p := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if l == 0 {
		return nil, nil
	}
	if p < 0 || p+l > len(msg) {
		return nil, fmt.Errorf("field at %d points outside the message", off)
	}
	return msg[p : p+l], nil
}

// ParseChallenge parses a CHALLENGE_MESSAGE.
func ParseChallenge(msg []byte) (*Challenge, error) {
	if len(msg) < 48 || !bytes.Equal(msg[:8], signature) || binary.LittleEndian.Uint32(msg[8:]) != 2 {
		return nil, errors.New("ntlm: not a CHALLENGE message")
	}
	c := &Challenge{Raw: append([]byte(nil), msg...)}
	c.Flags = binary.LittleEndian.Uint32(msg[20:])
	copy(c.ServerChallenge[:], msg[24:32])
	tn, err := field(msg, 12)
	if err != nil {
		return nil, fmt.Errorf("ntlm: target name: %w", err)
	}
	c.TargetName = fromUnicode(tn)
	ti, err := field(msg, 40)
	if err != nil {
		return nil, fmt.Errorf("ntlm: target info: %w", err)
	}
	c.TargetInfo, err = ParseAvPairs(ti)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseAvPairs parses a target info block up to MsvAvEOL.
func ParseAvPairs(b []byte) ([]AvPair, error) {
	var out []AvPair
	for len(b) >= 4 {
		id := binary.LittleEndian.Uint16(b)
		l := int(binary.LittleEndian.Uint16(b[2:]))
		if id == AvEOL {
			return out, nil
		}
		if len(b) < 4+l {
			return nil, errors.New("ntlm: truncated AV pair")
		}
		out = append(out, AvPair{id, append([]byte(nil), b[4:4+l]...)})
		b = b[4+l:]
	}
	if len(out) == 0 && len(b) == 0 {
		return nil, nil
	}
	return nil, errors.New("ntlm: target info without MsvAvEOL")
}

// MarshalAvPairs encodes pairs followed by MsvAvEOL.
func MarshalAvPairs(pairs []AvPair) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint16(b, p.ID)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Value)))
		b = append(b, p.Value...)
	}
	return append(b, 0, 0, 0, 0)
}

func toUnicode(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

func fromUnicode(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// SplitUser splits "DOMAIN\user" into user and domain; a UPN
// (user@domain) is kept whole as the user name with an empty domain.
func SplitUser(login string) (user, domain string) {
	if d, u, ok := strings.Cut(login, `\`); ok {
		return u, d
	}
	return login, ""
}

// NTOWFv2 is the NTLMv2 response key: HMAC-MD5(MD4(UTF16(password)),
// UTF16(UPPER(user) + domain)).
func NTOWFv2(password, user, domain string) []byte {
	h := md4(toUnicode(password))
	return hmacMD5(h[:], toUnicode(strings.ToUpper(user)+domain))
}

// Auth holds what the client needs to answer a challenge.
type Auth struct {
	User, Password string // User as "DOMAIN\user" or a UPN
	Workstation    string
	// ChannelBindings is the 16-byte MsvAvChannelBindings value
	// (ChannelBindingHash of the server certificate); nil sends none.
	ChannelBindings []byte
	// SPN, e.g. "HTTP/mail.example.com", is sent as MsvAvTargetName.
	SPN string

	// For tests: fixed client challenge and time; zero means random / now.
	clientChallenge []byte
	now             time.Time
}

// Authenticate builds the AUTHENTICATE_MESSAGE for challenge. negotiate is
// the NEGOTIATE message that was sent (it is covered by the MIC).
func (a *Auth) Authenticate(negotiate, challenge []byte) ([]byte, error) {
	c, err := ParseChallenge(challenge)
	if err != nil {
		return nil, err
	}
	if c.Flags&FlagUnicode == 0 {
		return nil, errors.New("ntlm: server does not offer Unicode")
	}
	if c.Flags&flagLMKey != 0 && c.Flags&FlagExtendedSecurity == 0 {
		return nil, errors.New("ntlm: server wants NTLMv1 (LM key); only NTLMv2 is supported")
	}
	user, domain := SplitUser(a.User)
	if user == "" {
		return nil, errors.New("ntlm: empty user name")
	}
	blob, err := a.blob(c)
	if err != nil {
		return nil, err
	}
	key := NTOWFv2(a.Password, user, domain)
	proof := hmacMD5(key, c.ServerChallenge[:], blob)
	nt := append(append([]byte(nil), proof...), blob...)
	sessionKey := hmacMD5(key, proof) // SessionBaseKey = ExportedSessionKey without key exchange
	lm := make([]byte, 24)            // Z(24): a MsvAvTimestamp was sent or we act as if

	flags := c.Flags & clientFlags
	flags |= FlagUnicode
	msg := marshalAuthenticate(flags, lm, nt, toUnicode(domain), toUnicode(user), toUnicode(a.Workstation))
	mic := hmacMD5(sessionKey, negotiate, challenge, msg)
	copy(msg[72:88], mic)
	return msg, nil
}

// blob is the NTLMv2 client blob (the temp of [MS-NLMP] 3.3.2): the
// server's timestamp (or now), the client challenge and a.targetInfo.
func (a *Auth) blob(c *Challenge) ([]byte, error) {
	ts := c.Get(AvTimestamp)
	targetInfo := a.targetInfo(c)
	if ts == nil {
		now := a.now
		if now.IsZero() {
			now = time.Now()
		}
		ts = binary.LittleEndian.AppendUint64(nil, uint64(now.UnixNano()/100)+116444736000000000)
	}
	cc := a.clientChallenge
	if cc == nil {
		cc = make([]byte, 8)
		if _, err := rand.Read(cc); err != nil {
			return nil, fmt.Errorf("ntlm: client challenge: %w", err)
		}
	}
	blob := make([]byte, 0, 28+len(targetInfo)+4)
	blob = append(blob, 1, 1, 0, 0, 0, 0, 0, 0)
	blob = append(blob, ts...)
	blob = append(blob, cc...)
	blob = append(blob, 0, 0, 0, 0)
	blob = append(blob, targetInfo...)
	blob = append(blob, 0, 0, 0, 0)
	return blob, nil
}

// targetInfo is the target info echoed in the NTLMv2 blob: the server's
// pairs, with MsvAvFlags saying a MIC is present, the channel bindings
// and our SPN.
func (a *Auth) targetInfo(c *Challenge) []byte {
	var pairs []AvPair
	sawFlags := false
	for _, p := range c.TargetInfo {
		switch p.ID {
		case AvFlags:
			v := uint32(0)
			if len(p.Value) == 4 {
				v = binary.LittleEndian.Uint32(p.Value)
			}
			p.Value = binary.LittleEndian.AppendUint32(nil, v|AvFlagMIC)
			sawFlags = true
		case AvChannelBindings, AvTargetName:
			continue // we supply our own
		}
		pairs = append(pairs, p)
	}
	if !sawFlags {
		pairs = append(pairs, AvPair{AvFlags, binary.LittleEndian.AppendUint32(nil, AvFlagMIC)})
	}
	cb := a.ChannelBindings
	if cb == nil {
		cb = make([]byte, 16) // all zero: "no bindings", as Windows sends without TLS
	}
	pairs = append(pairs, AvPair{AvChannelBindings, cb})
	if a.SPN != "" {
		pairs = append(pairs, AvPair{AvTargetName, toUnicode(a.SPN)})
	}
	return MarshalAvPairs(pairs)
}

// marshalAuthenticate lays out an AUTHENTICATE_MESSAGE with Version and a
// zero MIC at offset 72; the payload starts at 88.
func marshalAuthenticate(flags uint32, lm, nt, domain, user, ws []byte) []byte {
	const head = 88
	b := make([]byte, head)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], 3)
	off := head
	put := func(at int, v []byte) {
		binary.LittleEndian.PutUint16(b[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(off))
		off += len(v)
	}
	put(12, lm)
	put(20, nt)
	put(28, domain)
	put(36, user)
	put(44, ws)
	put(52, nil) // EncryptedRandomSessionKey: none (no key exchange)
	binary.LittleEndian.PutUint32(b[60:], flags|FlagVersion)
	copy(b[64:72], version)
	for _, v := range [][]byte{lm, nt, domain, user, ws} {
		b = append(b, v...)
	}
	return b
}

// Authenticated is what a server learns from an AUTHENTICATE message;
// used by tests and by servers that verify NTLM.
type Authenticated struct {
	User, Domain, Workstation string
	NTResponse                []byte
	Flags                     uint32
	MIC                       []byte
	TargetInfo                []AvPair // from the NTLMv2 blob
}

// ParseAuthenticate parses an AUTHENTICATE_MESSAGE with a Version and MIC.
func ParseAuthenticate(msg []byte) (*Authenticated, error) {
	if len(msg) < 88 || !bytes.Equal(msg[:8], signature) || binary.LittleEndian.Uint32(msg[8:]) != 3 {
		return nil, errors.New("ntlm: not an AUTHENTICATE message")
	}
	var fs [5][]byte
	for i, at := range []int{20, 28, 36, 44, 12} {
		v, err := field(msg, at)
		if err != nil {
			return nil, fmt.Errorf("ntlm: %w", err)
		}
		fs[i] = v
	}
	a := &Authenticated{NTResponse: fs[0], Domain: fromUnicode(fs[1]), User: fromUnicode(fs[2]),
		Workstation: fromUnicode(fs[3]), Flags: binary.LittleEndian.Uint32(msg[60:]),
		MIC: append([]byte(nil), msg[72:88]...)}
	if len(a.NTResponse) < 16+28+4 {
		return nil, errors.New("ntlm: NTLMv1 response or no response")
	}
	ti, err := ParseAvPairs(a.NTResponse[16+28:])
	if err != nil {
		return nil, err
	}
	a.TargetInfo = ti
	return a, nil
}

// Verify checks an AUTHENTICATE message against the password as a server
// would: the NTLMv2 proof, the MIC over the three messages and, when
// wantBindings is non-nil, the MsvAvChannelBindings value. It is exported
// for test servers (the EWS emulator) that check what clients send.
func Verify(negotiate, challenge, authenticate []byte, password string, wantBindings []byte) error {
	c, err := ParseChallenge(challenge)
	if err != nil {
		return err
	}
	a, err := ParseAuthenticate(authenticate)
	if err != nil {
		return err
	}
	key := NTOWFv2(password, a.User, a.Domain)
	blob := a.NTResponse[16:]
	proof := hmacMD5(key, c.ServerChallenge[:], blob)
	if !hmac.Equal(proof, a.NTResponse[:16]) {
		return errors.New("ntlm: wrong password (NTProofStr mismatch)")
	}
	var flags uint32
	var cb []byte
	for _, p := range a.TargetInfo {
		switch p.ID {
		case AvFlags:
			if len(p.Value) == 4 {
				flags = binary.LittleEndian.Uint32(p.Value)
			}
		case AvChannelBindings:
			cb = p.Value
		}
	}
	if flags&AvFlagMIC != 0 {
		zeroed := append([]byte(nil), authenticate...)
		clear(zeroed[72:88])
		mic := hmacMD5(hmacMD5(key, proof), negotiate, challenge, zeroed)
		if !hmac.Equal(mic, a.MIC) {
			return errors.New("ntlm: MIC mismatch")
		}
	}
	if wantBindings != nil && !bytes.Equal(cb, wantBindings) {
		return errors.New("ntlm: channel binding token missing or wrong (Extended Protection)")
	}
	return nil
}
