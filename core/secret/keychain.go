package secret

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/zalando/go-keyring"
)

// KeychainService is the service name of MailFerry's OS keychain entries.
const KeychainService = "MailFerry"

// KeyFileName is the key file Default uses (or migrates from) in the
// database directory. It is the same name store.Open uses.
const KeyFileName = "mailferry.key"

// MarkerFileName is written next to the database when its data key lives in
// the OS keychain. It holds no secret (only the keychain service and
// account); it stops Default from silently creating a fresh key when the
// keychain is unreachable (for example over SSH), which would leave every
// secret sealed before unreadable.
const MarkerFileName = "mailferry.keychain"

// EnvNoKeychain, when set to a non-empty value, makes Default use the key
// file and never touch the OS keychain (scripts, CI, tests on a desktop).
const EnvNoKeychain = "MAILFERRY_NO_KEYCHAIN"

// Errors callers may test with errors.Is.
var (
	// ErrKeychainUnavailable: the data key is in the OS keychain (the
	// marker file says so) but the keychain cannot be reached now.
	ErrKeychainUnavailable = errors.New("OS keychain unavailable")
	// ErrKeyMissing: the marker file says the data key is in the OS
	// keychain but the keychain has no such entry.
	ErrKeyMissing = errors.New("data key missing from the OS keychain")
	// ErrNoKey: there is no data key anywhere and Options.NoCreate forbade
	// making one.
	ErrNoKey = errors.New("no data key")
)

// Backend names where a data key is kept.
type Backend string

// Backends reported in Info.
const (
	BackendKeychain Backend = "keychain"
	BackendKeyFile  Backend = "keyfile"
)

// Info says which backend Default chose, for the GUI and CLI to display. It
// never holds key material.
type Info struct {
	Backend Backend
	// Service and Account name the keychain entry (Backend keychain).
	Service, Account string
	// KeyFile is the key file path (Backend keyfile).
	KeyFile string
	// Migrated is true when this call moved the key from the key file into
	// the keychain (same key bytes; the key file was deleted after the
	// keychain read-back matched).
	Migrated bool
	// Created is true when this call generated a new random key. Anything
	// sealed before (if the database holds sealed secrets) cannot be opened
	// with it; store code should refuse to go on in that case.
	Created bool
	// Reason says why the keychain was not used (Backend keyfile).
	Reason string
	// Warning reports an unusual state that did not stop Default.
	Warning string
}

// String is a one-line description such as
// "OS keychain (MailFerry / db:/home/ann/.config/MailFerry)".
func (i Info) String() string {
	var s string
	switch i.Backend {
	case BackendKeychain:
		s = fmt.Sprintf("OS keychain (%s / %s)", i.Service, i.Account)
		if i.Migrated {
			s += ", moved from the key file"
		}
	default:
		s = "key file " + i.KeyFile
		if i.Reason != "" {
			s += " (" + i.Reason + ")"
		}
	}
	if i.Warning != "" {
		s += "; warning: " + i.Warning
	}
	return s
}

// KeychainSealer seals with AES-256-GCM (the same "MFS1" format as
// FileSealer, so blobs move freely between the two) under a data key kept
// in the OS keychain.
type KeychainSealer struct {
	service, account string
	aead             cipher.AEAD
}

var _ Sealer = (*KeychainSealer)(nil)

// Service is the keychain entry's service name.
func (s *KeychainSealer) Service() string { return s.service }

// Account is the keychain entry's account name.
func (s *KeychainSealer) Account() string { return s.account }

// Seal encrypts plaintext with a fresh random nonce.
func (s *KeychainSealer) Seal(plaintext []byte) ([]byte, error) { return sealV1(s.aead, plaintext) }

// Open decrypts a blob made by Seal (or by a FileSealer) with the same key.
func (s *KeychainSealer) Open(sealed []byte) ([]byte, error) {
	return openV1([]cipher.AEAD{s.aead}, sealed, "the OS keychain entry "+s.service+" / "+s.account)
}

// Options tune DefaultWith.
type Options struct {
	// ProbeTimeout bounds the keychain probe (a set/get/delete of a test
	// entry). Zero means 3 seconds.
	ProbeTimeout time.Duration
	// OpTimeout bounds each later keychain call. Zero means 10 seconds.
	OpTimeout time.Duration
	// NoKeychain forces the key file (as does $MAILFERRY_NO_KEYCHAIN).
	NoKeychain bool
	// NoCreate makes DefaultWith fail with ErrNoKey instead of generating a
	// new key when none exists. Set it when the database already holds
	// sealed secrets: a new key could never open them.
	NoCreate bool
}

// Default is DefaultWith(dir, Options{}).
func Default(dir string) (Sealer, Info, error) { return DefaultWith(dir, Options{}) }

// DefaultWith returns the sealer for the database directory dir: the OS
// keychain when it works, else the key file dir/mailferry.key.
//
// The keychain is probed with a set/get/delete of a test entry under a
// timeout; on Linux without a D-Bus session bus it is skipped at once (no
// dbus-launch). When the keychain works and a key file exists, the key is
// moved into the keychain with the same bytes (so sealed data stays
// readable) and the key file is deleted only after the keychain read-back
// matches. A new key is always made in the key file first (atomically) and
// then moved, so concurrent first starts agree on one key.
func DefaultWith(dir string, opt Options) (Sealer, Info, error) {
	if opt.ProbeTimeout <= 0 {
		opt.ProbeTimeout = 3 * time.Second
	}
	if opt.OpTimeout <= 0 {
		opt.OpTimeout = 10 * time.Second
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	dir = filepath.Clean(dir)
	keyPath := filepath.Join(dir, KeyFileName)
	markerPath := filepath.Join(dir, MarkerFileName)
	account := AccountFor(dir)

	reason := ""
	switch {
	case opt.NoKeychain:
		reason = "keychain disabled by option"
	case os.Getenv(EnvNoKeychain) != "":
		reason = "keychain disabled by $" + EnvNoKeychain
	default:
		reason = probeKeychain(opt.ProbeTimeout)
	}
	if reason != "" {
		return fileFallback(keyPath, markerPath, account, reason, opt.NoCreate)
	}
	kc := keychain{service: KeychainService, account: account, timeout: opt.OpTimeout}
	return useKeychain(kc, keyPath, markerPath, opt.NoCreate)
}

// AccountFor is the keychain account name of the database directory dir:
// "db:" and its absolute, cleaned path.
func AccountFor(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return "db:" + filepath.Clean(dir)
}

// fileFallback uses the key file when the keychain is not used.
func fileFallback(keyPath, markerPath, account, reason string, noCreate bool) (Sealer, Info, error) {
	info := Info{Backend: BackendKeyFile, KeyFile: keyPath, Reason: reason}
	_, statErr := os.Stat(keyPath)
	if statErr != nil && errors.Is(statErr, os.ErrNotExist) {
		if _, err := os.Stat(markerPath); err == nil {
			return nil, info, fmt.Errorf("the data key for %s is in the OS keychain (service %q, account %q) but the keychain "+
				"cannot be used now (%s); run MailFerry in your desktop session, or delete %s to start with a new key "+
				"(every saved password will then have to be entered again): %w",
				filepath.Dir(keyPath), KeychainService, account, reason, markerPath, ErrKeychainUnavailable)
		}
		if noCreate {
			return nil, info, noKeyError(keyPath)
		}
		info.Created = true
	}
	s, err := KeyFile(keyPath)
	if err != nil {
		return nil, info, err
	}
	return s, info, nil
}

// useKeychain implements the keychain half of DefaultWith.
func useKeychain(kc keychain, keyPath, markerPath string, noCreate bool) (Sealer, Info, error) {
	info := Info{Backend: BackendKeychain, Service: kc.service, Account: kc.account}
	kcKey, kcErr := kc.get()
	if kcErr != nil && !errors.Is(kcErr, keyring.ErrNotFound) {
		return nil, info, kcErr
	}
	haveKC := kcErr == nil

	fileKey, fileErr := readKey(keyPath)
	if fileErr != nil && !errors.Is(fileErr, os.ErrNotExist) {
		return nil, info, fileErr
	}
	haveFile := fileErr == nil

	_, markerErr := os.Stat(markerPath)
	haveMarker := markerErr == nil

	switch {
	case haveKC && !haveFile:
		// The normal case after migration.
		if !haveMarker {
			if err := writeMarker(markerPath, kc); err != nil {
				return nil, info, err
			}
		}
		s, err := kc.sealer(kcKey)
		return s, info, err

	case haveKC && haveFile && !bytes.Equal(kcKey, fileKey):
		return differentKeys(kc, keyPath, kcKey, fileKey)

	case !haveKC && !haveFile && haveMarker:
		return nil, info, fmt.Errorf("the data key for %s should be in the OS keychain (service %q, account %q) but the "+
			"keychain has no such entry; restore it, or delete %s to start with a new key (every saved password will "+
			"then have to be entered again): %w", filepath.Dir(keyPath), kc.service, kc.account, markerPath, ErrKeyMissing)

	case !haveKC && !haveFile && noCreate:
		return nil, info, noKeyError(keyPath)

	case !haveKC && !haveFile:
		// First start: make the key in the key file (atomic against
		// concurrent starts), then move it like an old key file.
		k, err := createKey(keyPath)
		if err != nil {
			return nil, info, err
		}
		fileKey = k
		info.Created = true
	}

	// A key file to move (kcKey equals fileKey when haveKC: an interrupted
	// migration that we now finish).
	return moveKey(kc, keyPath, markerPath, fileKey, haveKC, info)
}

// differentKeys is the case of a keychain entry and a key file holding
// different keys.
func differentKeys(kc keychain, keyPath string, kcKey, fileKey []byte) (Sealer, Info, error) {
	info := Info{Backend: BackendKeychain, Service: kc.service, Account: kc.account}
	// Two different keys: do not guess which one sealed the database.
	// Seal with the key file (it sits next to the database) and open
	// with either; nothing is deleted.
	fs, err := newFileSealer(keyPath, fileKey)
	if err != nil {
		return nil, info, err
	}
	older, err := newAEAD(kcKey)
	if err != nil {
		return nil, info, err
	}
	fs.older = []cipher.AEAD{older}
	return fs, Info{
		Backend: BackendKeyFile, KeyFile: keyPath,
		Reason: "the OS keychain holds a different key for this directory",
		Warning: fmt.Sprintf("the keychain entry %s / %s and the key file %s hold different keys; kept the key file "+
			"and open secrets with either key", kc.service, kc.account, keyPath),
	}, nil
}

// moveKey moves fileKey from the key file into the keychain (unless
// haveKC: it is there already), checks it reads back, writes the marker
// and deletes the key file. When the keychain fails, the key file stays
// in use.
func moveKey(kc keychain, keyPath, markerPath string, fileKey []byte, haveKC bool, info Info) (Sealer, Info, error) {
	if !haveKC {
		if err := kc.set(fileKey); err != nil {
			return keyFileAfterFailedMove(keyPath, fileKey, info, fmt.Sprintf("moving the key into the keychain failed: %v", err))
		}
	}
	back, err := kc.get()
	if err != nil || !bytes.Equal(back, fileKey) {
		why := "the keychain read-back did not match"
		if err != nil {
			why = fmt.Sprintf("reading the key back from the keychain failed: %v", err)
		}
		if !haveKC {
			_ = kc.delete() // do not leave a wrong entry behind; the key file stays
		}
		return keyFileAfterFailedMove(keyPath, fileKey, info, why)
	}
	if err := writeMarker(markerPath, kc); err != nil {
		return nil, info, err
	}
	if err := os.Remove(keyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, info, fmt.Errorf("deleting the key file %s after moving it to the OS keychain: %w", keyPath, err)
	}
	syncDir(filepath.Dir(keyPath))
	info.Migrated = !info.Created
	s, err := kc.sealer(fileKey)
	return s, info, err
}

func noKeyError(keyPath string) error {
	return fmt.Errorf("the data key that sealed the saved secrets in %s is missing: neither the key file %s nor an OS "+
		"keychain entry exists; restore the key file from a backup (or move the database away to start afresh): %w",
		filepath.Dir(keyPath), keyPath, ErrNoKey)
}

// keyFileAfterFailedMove keeps using the key file when moving it failed.
func keyFileAfterFailedMove(keyPath string, key []byte, prev Info, why string) (Sealer, Info, error) {
	s, err := newFileSealer(keyPath, key)
	return s, Info{Backend: BackendKeyFile, KeyFile: keyPath, Created: prev.Created, Reason: why}, err
}

func writeMarker(path string, kc keychain) error {
	body := fmt.Sprintf("# The MailFerry data key for this directory is in the OS keychain.\n"+
		"# Deleting this file lets MailFerry make a new key (saved passwords are then lost).\n"+
		"service=%s\naccount=%s\n", kc.service, kc.account)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mailferry-keychain-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, body); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// keychain is one entry of the OS keychain reached through go-keyring, each
// call bounded by a timeout.
type keychain struct {
	service, account string
	timeout          time.Duration
}

func (k keychain) get() ([]byte, error) {
	v, err := withTimeout(k.timeout, func() (string, error) { return keyring.Get(k.service, k.account) })
	if err != nil {
		if errors.Is(err, keyring.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("reading the data key from the OS keychain (%s / %s): %w", k.service, k.account, err)
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("the OS keychain entry %s / %s is not a MailFerry data key (damaged or foreign)", k.service, k.account)
	}
	return key, nil
}

func (k keychain) set(key []byte) error {
	enc := base64.StdEncoding.EncodeToString(key)
	_, err := withTimeout(k.timeout, func() (struct{}, error) { return struct{}{}, keyring.Set(k.service, k.account, enc) })
	if err != nil {
		return fmt.Errorf("writing the data key to the OS keychain (%s / %s): %w", k.service, k.account, err)
	}
	return nil
}

func (k keychain) delete() error {
	_, err := withTimeout(k.timeout, func() (struct{}, error) { return struct{}{}, keyring.Delete(k.service, k.account) })
	return err
}

func (k keychain) sealer(key []byte) (*KeychainSealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("OS keychain entry %s / %s: %w", k.service, k.account, err)
	}
	return &KeychainSealer{service: k.service, account: k.account, aead: aead}, nil
}

// keychainStuck is set once a keychain call timed out: its goroutine may
// still hold go-keyring's (or D-Bus's) locks, so later calls in this
// process use the key file instead of piling up blocked goroutines.
var keychainStuck atomic.Bool

var errTimeout = errors.New("the OS keychain did not answer")

// withTimeout runs f and gives up after d. A call that times out is left
// running in its goroutine (go-keyring offers no cancellation).
func withTimeout[T any](d time.Duration, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		keychainStuck.Store(true)
		var zero T
		return zero, fmt.Errorf("%w within %v", errTimeout, d)
	}
}

// probeKeychain returns "" when the keychain works (a test entry can be
// set, read back and deleted within timeout), else why not.
func probeKeychain(timeout time.Duration) string {
	if keychainStuck.Load() {
		return "the OS keychain did not answer earlier in this run"
	}
	if why := sessionBusMissing(); why != "" {
		return why
	}
	var nonce [12]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return fmt.Sprintf("probing the keychain: %v", err)
	}
	account := "probe-" + hex.EncodeToString(nonce[:])
	want := "probe " + strconv.FormatInt(time.Now().UnixNano(), 36)
	deadline := time.Now().Add(timeout)
	left := func() time.Duration { return max(time.Until(deadline), time.Millisecond) }

	if _, err := withTimeout(left(), func() (struct{}, error) {
		return struct{}{}, keyring.Set(KeychainService, account, want)
	}); err != nil {
		return fmt.Sprintf("OS keychain unavailable: %v", err)
	}
	got, err := withTimeout(left(), func() (string, error) { return keyring.Get(KeychainService, account) })
	// Always try to remove the probe entry, even after a failed read.
	_, delErr := withTimeout(left(), func() (struct{}, error) {
		return struct{}{}, keyring.Delete(KeychainService, account)
	})
	switch {
	case err != nil:
		return fmt.Sprintf("OS keychain unavailable: reading a test entry: %v", err)
	case got != want:
		return "OS keychain unavailable: a test entry read back differently"
	case delErr != nil:
		return fmt.Sprintf("OS keychain unavailable: deleting a test entry: %v", delErr)
	}
	return ""
}

// sessionBusMissing returns why the Secret Service cannot be reached on
// Linux and the BSDs without a session bus, checked the way godbus finds
// the bus but without its dbus-launch fallback (which would start a stray
// daemon, or hang, on a headless machine). Elsewhere it returns "".
func sessionBusMissing() string {
	switch runtime.GOOS {
	case "darwin", "windows", "ios", "android", "plan9", "js", "wasip1":
		return ""
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return ""
	}
	run := "/run/user/" + strconv.Itoa(os.Getuid())
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(run, name)); err == nil {
			return ""
		}
	}
	return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), so no Secret Service keychain"
}
