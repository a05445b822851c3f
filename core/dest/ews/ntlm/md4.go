package ntlm

import (
	"encoding/binary"
	"math/bits"
)

// md4 returns the MD4 digest of p (RFC 1320). MD4 is broken as a hash; NTLM
// still uses it to derive the NT one-way function of the password.
func md4(p []byte) [16]byte {
	s := [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}
	n := len(p)
	msg := make([]byte, 0, n+72)
	msg = append(msg, p...)
	msg = append(msg, 0x80)
	for len(msg)%64 != 56 {
		msg = append(msg, 0)
	}
	msg = binary.LittleEndian.AppendUint64(msg, uint64(n)*8)
	var x [16]uint32
	for len(msg) >= 64 {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(msg[4*i:])
		}
		a, b, c, d := s[0], s[1], s[2], s[3]
		r1 := [4]int{3, 7, 11, 19}
		for i := 0; i < 16; i++ {
			a = bits.RotateLeft32(a+((b&c)|(^b&d))+x[i], r1[i%4])
			a, b, c, d = d, a, b, c
		}
		r2 := [4]int{3, 5, 9, 13}
		for i := 0; i < 16; i++ {
			k := (i%4)*4 + i/4
			a = bits.RotateLeft32(a+((b&c)|(b&d)|(c&d))+x[k]+0x5a827999, r2[i%4])
			a, b, c, d = d, a, b, c
		}
		r3 := [4]int{3, 9, 11, 15}
		order := [16]int{0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15}
		for i := 0; i < 16; i++ {
			a = bits.RotateLeft32(a+(b^c^d)+x[order[i]]+0x6ed9eba1, r3[i%4])
			a, b, c, d = d, a, b, c
		}
		s[0] += a
		s[1] += b
		s[2] += c
		s[3] += d
		msg = msg[64:]
	}
	var out [16]byte
	for i, v := range s {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
	return out
}
