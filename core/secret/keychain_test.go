package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// Tests that need go-keyring's real (D-Bus) backend run in a child process:
// keyring.MockInit, used by the other tests, replaces the backend for the
// whole process and cannot be undone.
const childEnv = "MAILFERRY_SECRET_TEST_CHILD"

// inChild reports whether the current test runs in the child process. In
// the parent it runs the test in a child and fails if the child failed.
func inChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child process did not run the test:\n%s", out)
	}
	t.Logf("child output:\n%s", out)
	return false
}

// noSessionBus removes every way godbus could find a session bus.
func noSessionBus(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the Secret Service (D-Bus) fallback exists on Linux and the BSDs only")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv(EnvNoKeychain, "")
	if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err == nil {
		t.Skip("this machine has a D-Bus session bus; the headless fallback cannot be tested here")
	}
}

func roundTrip(t *testing.T, s Sealer, pt string) []byte {
	t.Helper()
	sealed, err := s.Seal([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	// (A plaintext of a few bytes turns up in random ciphertext by chance.)
	if len(pt) >= 8 && bytes.Contains(sealed, []byte(pt)) {
		t.Fatal("sealed blob contains the plaintext")
	}
	got, err := s.Open(sealed)
	if err != nil || string(got) != pt {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	return sealed
}

func TestDefaultFallbackNoSessionBus(t *testing.T) {
	if !inChild(t) {
		return
	}
	noSessionBus(t)
	dir := t.TempDir()
	start := time.Now()
	s, info, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("fallback took %v, want it immediate", d)
	}
	if info.Backend != BackendKeyFile || !info.Created || !strings.Contains(info.Reason, "D-Bus") {
		t.Fatalf("info = %+v, want a created key file and a D-Bus reason", info)
	}
	if _, ok := s.(*FileSealer); !ok {
		t.Fatalf("sealer is %T, want *FileSealer", s)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, MarkerFileName)); err == nil {
		t.Fatal("marker written although the keychain was not used")
	}
	sealed := roundTrip(t, s, "hunter2-pässword")

	s2, info2, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info2.Created || info2.Backend != BackendKeyFile {
		t.Fatalf("second Default: %+v", info2)
	}
	if got, err := s2.Open(sealed); err != nil || string(got) != "hunter2-pässword" {
		t.Fatalf("second Default cannot open the first's blob: %q, %v", got, err)
	}
	t.Log(info.String())
}

func TestDefaultFallbackBusUnreachable(t *testing.T) {
	if !inChild(t) {
		return
	}
	noSessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-such-bus"))
	dir := t.TempDir()
	start := time.Now()
	s, info, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fallback took %v", d)
	}
	if info.Backend != BackendKeyFile || !strings.Contains(info.Reason, "keychain unavailable") {
		t.Fatalf("info = %+v", info)
	}
	roundTrip(t, s, "secret")
}

func TestDefaultFallbackBusHangs(t *testing.T) {
	if !inChild(t) {
		return
	}
	noSessionBus(t)
	// A "bus" that accepts connections and never answers the D-Bus
	// authentication: go-keyring blocks forever, Default must not.
	sock := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	dir := t.TempDir()
	start := time.Now()
	s, info, err := DefaultWith(dir, Options{ProbeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fallback took %v, want about the probe timeout", d)
	}
	if info.Backend != BackendKeyFile || !strings.Contains(info.Reason, "did not answer") {
		t.Fatalf("info = %+v", info)
	}
	roundTrip(t, s, "secret")
	// The stuck keychain is not probed again.
	start = time.Now()
	_, info, err = DefaultWith(dir, Options{ProbeTimeout: 5 * time.Second})
	if err != nil || info.Backend != BackendKeyFile || time.Since(start) > time.Second {
		t.Fatalf("second call: %+v, %v after %v", info, err, time.Since(start))
	}
}

func TestDefaultNoKeychainRefusesWhenMarkerSaysKeychain(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, MarkerFileName), []byte("service=MailFerry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := DefaultWith(dir, Options{NoKeychain: true})
	if !errors.Is(err, ErrKeychainUnavailable) {
		t.Fatalf("got %v, want ErrKeychainUnavailable", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err == nil {
		t.Fatal("a fresh key file was created although the key is in the keychain")
	}
	// With a key file present (an interrupted migration), it is used.
	fs, err := KeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	sealed := roundTrip(t, fs, "pw")
	s, info, err := DefaultWith(dir, Options{NoKeychain: true})
	if err != nil || info.Backend != BackendKeyFile {
		t.Fatalf("%+v, %v", info, err)
	}
	if got, err := s.Open(sealed); err != nil || string(got) != "pw" {
		t.Fatalf("%q, %v", got, err)
	}
}

// mockKeychain switches go-keyring to its own in-memory backend and makes
// the session-bus check pass (the mock never touches D-Bus).
func mockKeychain(t *testing.T) {
	t.Helper()
	keyring.MockInit()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-keyring-in-use")
	t.Setenv(EnvNoKeychain, "")
	if keychainStuck.Load() {
		t.Fatal("keychain marked stuck by an earlier test")
	}
}

func keychainKey(t *testing.T, dir string) []byte {
	t.Helper()
	v, err := keyring.Get(KeychainService, AccountFor(dir))
	if err != nil {
		t.Fatalf("keychain entry: %v", err)
	}
	k, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDefaultKeychainFresh(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	s, info, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != BackendKeychain || !info.Created || info.Migrated || info.Service != "MailFerry" ||
		info.Account != AccountFor(dir) {
		t.Fatalf("info = %+v", info)
	}
	ks, ok := s.(*KeychainSealer)
	if !ok || ks.Account() != AccountFor(dir) || ks.Service() != KeychainService {
		t.Fatalf("sealer %T %+v", s, s)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err == nil {
		t.Fatal("key file left behind")
	}
	marker, err := os.ReadFile(filepath.Join(dir, MarkerFileName))
	if err != nil || !strings.Contains(string(marker), AccountFor(dir)) {
		t.Fatalf("marker: %q, %v", marker, err)
	}
	if len(keychainKey(t, dir)) != KeySize {
		t.Fatal("keychain key has the wrong size")
	}
	sealed := roundTrip(t, s, "Zugangsdaten-ü")

	s2, info2, err := Default(dir)
	if err != nil || info2.Backend != BackendKeychain || info2.Created || info2.Migrated {
		t.Fatalf("second Default: %+v, %v", info2, err)
	}
	if got, err := s2.Open(sealed); err != nil || string(got) != "Zugangsdaten-ü" {
		t.Fatalf("%q, %v", got, err)
	}
	// Another directory gets another key.
	s3, _, err := Default(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Open(sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("another directory's key opened the blob: %v", err)
	}
	t.Log(info.String())
}

func TestDefaultMigratesKeyFile(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, KeyFileName)
	old, err := KeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, pw := range []string{"a", "pässwörd", strings.Repeat("x", 500)} {
		blobs = append(blobs, roundTrip(t, old, pw))
	}

	s, info, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != BackendKeychain || !info.Migrated || info.Created {
		t.Fatalf("info = %+v", info)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("key file not deleted after migration")
	}
	if !bytes.Equal(keychainKey(t, dir), oldKey) {
		t.Fatal("the keychain holds another key than the key file held")
	}
	for i, pw := range []string{"a", "pässwörd", strings.Repeat("x", 500)} {
		got, err := s.Open(blobs[i])
		if err != nil || string(got) != pw {
			t.Fatalf("blob %d after migration: %q, %v", i, got, err)
		}
	}
	// What the keychain sealer seals, the old key file opens (same format).
	sealed := roundTrip(t, s, "new")
	if got, err := old.Open(sealed); err != nil || string(got) != "new" {
		t.Fatalf("old sealer on a new blob: %q, %v", got, err)
	}
	// A rerun is a plain keychain start.
	_, info, err = Default(dir)
	if err != nil || info.Migrated || info.Backend != BackendKeychain {
		t.Fatalf("rerun: %+v, %v", info, err)
	}
}

func TestDefaultFinishesInterruptedMigration(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, KeyFileName)
	old, err := KeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(keyPath)
	// Crash after the keychain write, before marker and deletion.
	if err := keyring.Set(KeychainService, AccountFor(dir), base64.StdEncoding.EncodeToString(key)); err != nil {
		t.Fatal(err)
	}
	sealed := roundTrip(t, old, "pw")
	s, info, err := Default(dir)
	if err != nil || info.Backend != BackendKeychain || !info.Migrated {
		t.Fatalf("%+v, %v", info, err)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("key file not deleted")
	}
	if got, err := s.Open(sealed); err != nil || string(got) != "pw" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestDefaultDifferentKeysKeepsBoth(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	// Keychain key from an earlier life of this directory.
	kcSealer, _, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	kcBlob := roundTrip(t, kcSealer, "sealed-with-keychain")
	// A key file made meanwhile (marker lost, keychain unreachable).
	if err := os.Remove(filepath.Join(dir, MarkerFileName)); err != nil {
		t.Fatal(err)
	}
	fileSealer, err := KeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	fileBlob := roundTrip(t, fileSealer, "sealed-with-file")

	s, info, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != BackendKeyFile || info.Warning == "" || info.Migrated {
		t.Fatalf("info = %+v", info)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatal("key file deleted although the keychain holds another key")
	}
	for blob, want := range map[*[]byte]string{&kcBlob: "sealed-with-keychain", &fileBlob: "sealed-with-file"} {
		if got, err := s.Open(*blob); err != nil || string(got) != want {
			t.Fatalf("open %s: %q, %v", want, got, err)
		}
	}
	// New blobs are sealed with the key file's key.
	if got, err := fileSealer.Open(roundTrip(t, s, "next")); err != nil || string(got) != "next" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestDefaultKeyMissingFromKeychain(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	if _, _, err := Default(dir); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Delete(KeychainService, AccountFor(dir)); err != nil {
		t.Fatal(err)
	}
	_, _, err := Default(dir)
	if !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("got %v, want ErrKeyMissing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err == nil {
		t.Fatal("a fresh key was made although the keychain key is missing")
	}
}

func TestDefaultDamagedKeychainEntry(t *testing.T) {
	mockKeychain(t)
	dir := t.TempDir()
	fs, err := KeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	sealed := roundTrip(t, fs, "pw")
	if err := keyring.Set(KeychainService, AccountFor(dir), "not-a-key"); err != nil {
		t.Fatal(err)
	}
	_, _, err = Default(dir)
	if err == nil || !strings.Contains(err.Error(), "not a MailFerry data key") {
		t.Fatalf("got %v, want a damaged-entry error", err)
	}
	// The key file is untouched.
	fs2, err := KeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fs2.Open(sealed); err != nil || string(got) != "pw" {
		t.Fatalf("%q, %v", got, err)
	}
}

func TestDefaultKeychainErrorsFallBack(t *testing.T) {
	keyring.MockInitWithError(errors.New("the keyring is locked"))
	t.Cleanup(keyring.MockInit)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-keyring-in-use")
	t.Setenv(EnvNoKeychain, "")
	dir := t.TempDir()
	fs, err := KeyFile(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	sealed := roundTrip(t, fs, "pw")
	s, info, err := Default(dir)
	if err != nil || info.Backend != BackendKeyFile || !strings.Contains(info.Reason, "locked") {
		t.Fatalf("%+v, %v", info, err)
	}
	if got, err := s.Open(sealed); err != nil || string(got) != "pw" {
		t.Fatalf("%q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatal("key file removed although the keychain failed")
	}
}

func TestEnvNoKeychain(t *testing.T) {
	mockKeychain(t)
	t.Setenv(EnvNoKeychain, "1")
	dir := t.TempDir()
	_, info, err := Default(dir)
	if err != nil || info.Backend != BackendKeyFile || !strings.Contains(info.Reason, EnvNoKeychain) {
		t.Fatalf("%+v, %v", info, err)
	}
	if _, err := keyring.Get(KeychainService, AccountFor(dir)); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("keychain touched: %v", err)
	}
}

func TestDefaultNoCreate(t *testing.T) {
	// Key file backend.
	dir := t.TempDir()
	_, _, err := DefaultWith(dir, Options{NoKeychain: true, NoCreate: true})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("key file backend: got %v, want ErrNoKey", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("NoCreate left %d files behind", len(ents))
	}
	// Keychain backend.
	mockKeychain(t)
	_, _, err = DefaultWith(dir, Options{NoCreate: true})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("keychain backend: got %v, want ErrNoKey", err)
	}
	if _, err := keyring.Get(KeychainService, AccountFor(dir)); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("NoCreate made a keychain entry: %v", err)
	}
	// An existing key is used as usual.
	if _, err := KeyFile(filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatal(err)
	}
	if _, info, err := DefaultWith(dir, Options{NoCreate: true}); err != nil || !info.Migrated {
		t.Fatalf("%+v, %v", info, err)
	}
	if _, info, err := DefaultWith(dir, Options{NoCreate: true}); err != nil || info.Backend != BackendKeychain {
		t.Fatalf("%+v, %v", info, err)
	}
}
