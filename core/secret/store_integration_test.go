package secret_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/mailferry/mailferry/core/secret"
	"github.com/mailferry/mailferry/core/store"
)

// TestStoreSecretsSurviveMigration: a database whose secrets were sealed
// with the key file by store.Open keeps them readable after Default moved
// the key into the (go-keyring in-memory) keychain, and its file never
// holds a password in clear.
func TestStoreSecretsSurviveMigration(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mailferry.db")
	const pw = "correct horse battery staple ü"

	s, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.SetSecret([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.KeyFileName)); err != nil {
		t.Fatalf("store.Open made no key file: %v", err)
	}

	keyring.MockInit()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/mock-keyring-in-use")
	t.Setenv(secret.EnvNoKeychain, "")
	sealer, info, err := secret.Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Backend != secret.BackendKeychain || !info.Migrated {
		t.Fatalf("info %+v", info)
	}
	if _, err := os.Stat(filepath.Join(dir, store.KeyFileName)); err == nil {
		t.Fatal("key file still there after migration")
	}
	s, err = store.OpenWith(dbPath, sealer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Secret(ref)
	if err != nil || string(got) != pw {
		t.Fatalf("secret after migration: %q, %v", got, err)
	}
	ref2, err := s.SetSecret([]byte(pw + "2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Secret(ref2); err != nil || string(got) != pw+"2" {
		t.Fatalf("%q, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(pw)) || bytes.Contains(raw, []byte("horse battery")) {
		t.Fatal("the database file holds the password in clear")
	}
}
