package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func newSealer(t *testing.T) (*FileSealer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "mailferry.key")
	s, err := KeyFile(path)
	if err != nil {
		t.Fatalf("KeyFile: %v", err)
	}
	return s, path
}

func TestRoundTrip(t *testing.T) {
	s, path := newSealer(t)
	for _, pt := range [][]byte{[]byte("S3cr3t-Pässwörd-42"), {}, bytes.Repeat([]byte{0, 1, 2}, 10000)} {
		sealed, err := s.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Fatal("sealed blob contains the plaintext")
		}
		if !bytes.HasPrefix(sealed, []byte("MFS1")) {
			t.Fatalf("sealed blob lacks the version prefix: %q", sealed[:4])
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q, want %q", got, pt)
		}
	}
	// Two seals of the same plaintext differ (random nonce).
	a, _ := s.Seal([]byte("x"))
	b, _ := s.Seal([]byte("x"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
	// Reopening the key file gives the same key.
	s2, err := KeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(a); err != nil || string(got) != "x" {
		t.Fatalf("reopened key: %q, %v", got, err)
	}
}

func TestTamperingDetected(t *testing.T) {
	s, _ := newSealer(t)
	sealed, err := s.Seal([]byte("password"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := s.Open(bad); !errors.Is(err, ErrOpen) {
			t.Fatalf("flipping byte %d: got err %v, want ErrOpen", i, err)
		}
	}
	for _, n := range []int{0, 3, 4, 10, len(sealed) - 1} {
		if _, err := s.Open(sealed[:n]); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated to %d: got err %v, want ErrOpen", n, err)
		}
	}
}

func TestWrongKeyFails(t *testing.T) {
	s1, _ := newSealer(t)
	s2, _ := newSealer(t)
	sealed, err := s1.Seal([]byte("password"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s2.Open(sealed)
	if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("got %v, want ErrOpen mentioning another key", err)
	}
}

func TestKeyFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix file modes")
	}
	_, path := newSealer(t)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", st.Mode().Perm())
	}
	if st.Size() != KeySize {
		t.Fatalf("key file size %d, want %d", st.Size(), KeySize)
	}
	dst, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if dst.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %04o, want 0700", dst.Mode().Perm())
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("key dir holds %d entries, want only the key", len(ents))
	}
}

func TestKeyFileRefusesReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix file modes")
	}
	_, path := newSealer(t)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := KeyFile(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v, want a refusal naming chmod 600", err)
	}
}

func TestKeyFileRejectsDamagedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := KeyFile(path); err == nil || !strings.Contains(err.Error(), "want exactly 32") {
		t.Fatalf("got %v, want a size error", err)
	}
}
