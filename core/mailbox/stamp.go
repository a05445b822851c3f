package mailbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// A stamp is the exactly-once marker the EWS and Graph destinations store
// in a property of every item they create:
// "<ContentKey>;<put-nonce>.<index>". Existing counts the content keys of
// the stamps it finds; the suffix makes every created item's stamp
// unique, so that after a lost answer Put can tell exactly which items of
// a batch exist.

// Stamper makes the stamps of one Put.
type Stamper struct{ nonce string }

// NewStamper draws the nonce of one Put.
func NewStamper() (Stamper, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return Stamper{}, fmt.Errorf("stamp nonce: %w", err)
	}
	return Stamper{nonce: hex.EncodeToString(b)}, nil
}

// Stamp is the stamp of m, the i-th message of the Put.
func (s Stamper) Stamp(m *Message, i int) string {
	ck := m.ContentKey
	if ck == "" {
		ck = m.Meta.ContentKey()
	}
	return string(ck) + ";" + s.nonce + "." + strconv.Itoa(i)
}

// StampKey extracts the content key from a stamp.
func StampKey(stamp string) ContentKey {
	k, _, _ := strings.Cut(stamp, ";")
	return ContentKey(k)
}
