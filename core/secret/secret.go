package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Sealer seals and opens secrets.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// KeySize is the size of a FileSealer key in bytes (AES-256).
const KeySize = 32

// prefixV1 marks a blob sealed by FileSealer format version 1.
var prefixV1 = []byte("MFS1")

// ErrOpen is returned (wrapped) when a sealed blob cannot be opened: it was
// tampered with, truncated, or sealed with another key.
var ErrOpen = errors.New("cannot open sealed secret")

// FileSealer seals with AES-256-GCM under a key read from a key file.
type FileSealer struct {
	path string
	aead cipher.AEAD
	// older keys that Open also tries (never used to seal); set only by
	// Default when the keychain holds a different key than the key file.
	older []cipher.AEAD
}

var _ Sealer = (*FileSealer)(nil)

// KeyFile returns a FileSealer using the key in path. If the file does not
// exist, a random key is created in it with mode 0600 (its directory is
// created with mode 0700). On unix an existing key file that group or others
// may read is refused.
func KeyFile(path string) (*FileSealer, error) {
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return newFileSealer(path, key)
}

func newFileSealer(path string, key []byte) (*FileSealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return &FileSealer{path: path, aead: aead}, nil
}

// newAEAD is AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Path is the key file's path.
func (s *FileSealer) Path() string { return s.path }

// Seal encrypts plaintext with a fresh random nonce.
func (s *FileSealer) Seal(plaintext []byte) ([]byte, error) { return sealV1(s.aead, plaintext) }

// Open decrypts a blob made by Seal with the same key.
func (s *FileSealer) Open(sealed []byte) ([]byte, error) {
	return openV1(append([]cipher.AEAD{s.aead}, s.older...), sealed, s.path)
}

// sealV1 seals plaintext in format version 1 under aead.
func sealV1(aead cipher.AEAD, plaintext []byte) ([]byte, error) {
	ns := aead.NonceSize()
	out := make([]byte, len(prefixV1)+ns, len(prefixV1)+ns+len(plaintext)+aead.Overhead())
	copy(out, prefixV1)
	if _, err := io.ReadFull(rand.Reader, out[len(prefixV1):]); err != nil {
		return nil, fmt.Errorf("seal: reading random nonce: %w", err)
	}
	return aead.Seal(out, out[len(prefixV1):], plaintext, prefixV1), nil
}

// openV1 opens a format version 1 blob with the first of aeads that
// authenticates it; where names the key's home for the error message.
func openV1(aeads []cipher.AEAD, sealed []byte, where string) ([]byte, error) {
	if len(sealed) < len(prefixV1) || !bytes.Equal(sealed[:len(prefixV1)], prefixV1) {
		return nil, fmt.Errorf("%w: unknown format (not sealed by MailFerry)", ErrOpen)
	}
	rest := sealed[len(prefixV1):]
	ns := aeads[0].NonceSize()
	if len(rest) < ns+aeads[0].Overhead() {
		return nil, fmt.Errorf("%w: truncated (%d bytes)", ErrOpen, len(sealed))
	}
	for _, aead := range aeads {
		if pt, err := aead.Open(nil, rest[:ns], rest[ns:], prefixV1); err == nil {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("%w: it was altered or sealed with another key than %s", ErrOpen, where)
}

// readKey reads and checks an existing key file.
func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // fs.ErrNotExist is handled by the caller
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %04o: group or others may read it; "+
			"refusing to use it (run: chmod 600 %q)", path, st.Mode().Perm(), path)
	}
	key, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key file %s holds %d bytes, want exactly %d: it is damaged or not a MailFerry key", path, len(key), KeySize)
	}
	return key, nil
}

// createKey writes a new random key to path without ever replacing an
// existing file: the key goes to a temporary file that is then hard-linked
// into place, so a concurrent creator or a crash never leaves a short key.
func createKey(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("creating key: reading random bytes: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".mailferry-key-*")
	if err != nil {
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Someone else created it first: use theirs.
			return readKey(path)
		}
		// Filesystems without hard links: fall back to an exclusive create.
		f, err2 := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err2 != nil {
			if errors.Is(err2, fs.ErrExist) {
				return readKey(path)
			}
			return nil, fmt.Errorf("creating key file %s: %w", path, errors.Join(err, err2))
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("writing key file %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("writing key file %s: %w", path, err)
		}
	}
	return key, nil
}
