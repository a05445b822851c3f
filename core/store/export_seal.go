package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"

	"golang.org/x/crypto/scrypt"
)

// sealedSecrets is the "sealed_secrets" member of a version 2 export: the
// map ref → secret, as JSON, encrypted with AES-256-GCM under a key derived
// from the passphrase by scrypt. Everything needed to derive the key again
// (except the passphrase) is stored with it.
type sealedSecrets struct {
	KDF  string `json:"kdf"` // "scrypt"
	N    int    `json:"n"`
	R    int    `json:"r"`
	P    int    `json:"p"`
	Salt []byte `json:"salt"`
	// Cipher is "AES-256-GCM"; the additional data binds the ciphertext
	// to the document's format, version, project and users.
	Cipher string `json:"cipher"`
	// Check is HMAC-SHA256 of a constant under the second half of the
	// derived key: it tells a wrong passphrase from a damaged document.
	Check      []byte `json:"check"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

const (
	kdfScrypt   = "scrypt"
	cipherGCM   = "AES-256-GCM"
	checkLabel  = "mailferry-export-passphrase-check"
	saltLen     = 16
	derivedLen  = 64 // 32 bytes AES key, 32 bytes check key
	maxScryptNR = 1 << 21
)

// scrypt cost of new exports (≈32 MiB of memory, well under a second);
// a variable so that tests could lower it.
var scryptN, scryptR, scryptP = 1 << 15, 8, 1

func deriveKeys(passphrase []byte, s *sealedSecrets) (aesKey, checkKey []byte, err error) {
	if s.KDF != kdfScrypt {
		return nil, nil, fmt.Errorf("key derivation %q is not supported (want %s): %w", s.KDF, kdfScrypt, ErrExportDamaged)
	}
	// Bound the work a crafted file can ask for (≤ 256 MiB, sane p).
	if s.N < 1<<10 || s.N&(s.N-1) != 0 || s.R < 1 || s.R > 64 || s.P < 1 || s.P > 16 || s.N*s.R > maxScryptNR || len(s.Salt) < saltLen {
		return nil, nil, fmt.Errorf("scrypt parameters N=%d r=%d p=%d salt %d bytes are out of range: %w", s.N, s.R, s.P, len(s.Salt), ErrExportDamaged)
	}
	dk, err := scrypt.Key(passphrase, s.Salt, s.N, s.R, s.P, derivedLen)
	if err != nil {
		return nil, nil, fmt.Errorf("deriving the key: %w", err)
	}
	return dk[:32], dk[32:], nil
}

func checkValue(checkKey []byte) []byte {
	m := hmac.New(sha256.New, checkKey)
	m.Write([]byte(checkLabel))
	return m.Sum(nil)
}

// exportAD is the additional authenticated data of doc's sealed secrets:
// format, version, and the compacted JSON of project and users.
func exportAD(doc *exportDoc) ([]byte, error) {
	var ad bytes.Buffer
	ad.WriteString(doc.Format + "\n" + strconv.Itoa(doc.Version) + "\n")
	for _, raw := range []json.RawMessage{doc.Project, doc.Users} {
		if err := json.Compact(&ad, raw); err != nil {
			return nil, fmt.Errorf("canonical document: %w", err)
		}
		ad.WriteByte('\n')
	}
	return ad.Bytes(), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("AES: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("GCM: %w", err)
	}
	return g, nil
}

// sealSecrets encrypts secrets with passphrase, bound to ad.
func sealSecrets(secrets map[string][]byte, passphrase, ad []byte) (*sealedSecrets, error) {
	s := &sealedSecrets{KDF: kdfScrypt, N: scryptN, R: scryptR, P: scryptP, Salt: make([]byte, saltLen), Cipher: cipherGCM}
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	key, checkKey, err := deriveKeys(passphrase, s)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	defer clear(checkKey)
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	pt, err := json.Marshal(secrets)
	if err != nil {
		return nil, fmt.Errorf("sealing the passwords: %w", err)
	}
	defer clear(pt)
	s.Nonce = make([]byte, g.NonceSize())
	if _, err := rand.Read(s.Nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	s.Ciphertext = g.Seal(nil, s.Nonce, pt, ad)
	s.Check = checkValue(checkKey)
	return s, nil
}

// openSecrets decrypts s with passphrase: ErrWrongPassphrase when the
// passphrase does not fit, ErrExportDamaged when the passphrase fits but
// the sealed data or the document it is bound to (ad) was changed.
func openSecrets(s *sealedSecrets, passphrase, ad []byte) (map[string][]byte, error) {
	if s.Cipher != cipherGCM {
		return nil, fmt.Errorf("cipher %q is not supported (want %s): %w", s.Cipher, cipherGCM, ErrExportDamaged)
	}
	key, checkKey, err := deriveKeys(passphrase, s)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	defer clear(checkKey)
	if !hmac.Equal(checkValue(checkKey), s.Check) {
		return nil, fmt.Errorf("the passphrase does not open this export's passwords: %w", ErrWrongPassphrase)
	}
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != g.NonceSize() {
		return nil, fmt.Errorf("nonce of %d bytes: %w", len(s.Nonce), ErrExportDamaged)
	}
	pt, err := g.Open(nil, s.Nonce, s.Ciphertext, ad)
	if err != nil {
		return nil, fmt.Errorf("the passphrase is right, but the sealed passwords do not match the project and users in the file: %w", ErrExportDamaged)
	}
	defer clear(pt)
	var secrets map[string][]byte
	if err := json.Unmarshal(pt, &secrets); err != nil {
		return nil, fmt.Errorf("sealed passwords: %w: %w", ErrExportDamaged, err)
	}
	return secrets, nil
}

// clearAll zeroes the secrets of m.
func clearAll(m map[string][]byte) {
	for _, v := range m {
		clear(v)
	}
}
