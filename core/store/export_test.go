package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/project"
)

const (
	exportPass  = "Tr0ub4dor&3-export"
	adminSecret = "Admin-Pw-9f3K!"
	aliceSecret = "Alice-Pw-77xQ"
)

// sealedFixture creates project "Acme" with an admin password and a
// user password, and returns its sealed export.
func sealedFixture(t *testing.T, s *Store) []byte {
	t.Helper()
	srcRef, err := s.SetSecret([]byte(adminSecret))
	if err != nil {
		t.Fatal(err)
	}
	p := newProject("Acme")
	p.Source.PasswordRef = srcRef
	if err := s.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	uRef, err := s.SetSecret([]byte(aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutUsers("Acme", []project.User{{SourceEmail: "alice@example.com", SourcePasswordRef: uRef}}); err != nil {
		t.Fatal(err)
	}
	data, err := s.ExportProjectSealed("Acme", []byte(exportPass))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editDoc decodes data, lets fn change it, and encodes it again.
func editDoc(t *testing.T, data []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportSealedNoClearSecrets(t *testing.T) {
	s := openTest(t)
	data := sealedFixture(t, s)
	for _, needle := range []string{exportPass, adminSecret, aliceSecret,
		base64.StdEncoding.EncodeToString([]byte(adminSecret)), base64.StdEncoding.EncodeToString([]byte(aliceSecret)),
		base64.StdEncoding.EncodeToString([]byte(exportPass)), `"secrets"`} {
		if bytes.Contains(data, []byte(needle)) {
			t.Errorf("sealed export contains %q", needle)
		}
	}
	info, err := InspectExport(data)
	if err != nil || !info.Sealed || info.ClearSecrets || info.Version != 2 || info.Project != "Acme" || info.Users != 1 {
		t.Fatalf("InspectExport: %+v, %v", info, err)
	}
	// A fresh salt and nonce each time.
	again, err := s.ExportProjectSealed("Acme", []byte(exportPass))
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct {
		Sealed sealedSecrets `json:"sealed_secrets"`
	}
	if json.Unmarshal(data, &a) != nil || json.Unmarshal(again, &b) != nil {
		t.Fatal("decoding exports")
	}
	if a.Sealed.KDF != "scrypt" || a.Sealed.Cipher != "AES-256-GCM" || a.Sealed.N != scryptN || len(a.Sealed.Salt) != saltLen {
		t.Fatalf("sealed parameters: %+v", a.Sealed)
	}
	if bytes.Equal(a.Sealed.Salt, b.Sealed.Salt) || bytes.Equal(a.Sealed.Ciphertext, b.Sealed.Ciphertext) {
		t.Fatal("two exports share salt or ciphertext")
	}
	// Clear secrets are never written: with secrets needs a passphrase.
	if _, err := s.ExportProject("Acme", true); !errors.Is(err, ErrPassphraseRequired) {
		t.Fatalf("ExportProject with secrets and no passphrase: %v", err)
	}
	if _, err := s.ExportProjectSealed("Acme", nil); !errors.Is(err, ErrPassphraseRequired) {
		t.Fatalf("ExportProjectSealed without passphrase: %v", err)
	}
	// Characters, not bytes: the rule both faces check (CheckPassphrase).
	for _, short := range []string{"short", "äöüßé"} {
		if _, err := s.ExportProjectSealed("Acme", []byte(short)); err == nil || !strings.Contains(err.Error(), "at least 8 characters") {
			t.Fatalf("short passphrase %q: %v", short, err)
		}
	}
	if _, err := s.ExportProjectSealed("Nope", []byte(exportPass)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
}

func TestImportSealedRoundTrip(t *testing.T) {
	s := openTest(t)
	data := sealedFixture(t, s)
	if err := s.DeleteProject("Acme"); err != nil {
		t.Fatal(err)
	}
	p, err := s.ImportProjectWith(data, ImportOptions{Passphrase: []byte(exportPass)})
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Secret(p.Source.PasswordRef); err != nil || string(pw) != adminSecret {
		t.Fatalf("admin password after import: %q, %v", pw, err)
	}
	u, err := s.User("Acme", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Secret(u.SourcePasswordRef); err != nil || string(pw) != aliceSecret {
		t.Fatalf("alice's password after import: %q, %v", pw, err)
	}
}

func TestImportSealedRefusals(t *testing.T) {
	s := openTest(t)
	data := sealedFixture(t, s)
	if err := s.DeleteProject("Acme"); err != nil {
		t.Fatal(err)
	}
	wrongPass := []byte("not-the-passphrase")
	cases := []struct {
		name string
		data []byte
		opt  ImportOptions
		want error
		text string
	}{
		{"no passphrase", data, ImportOptions{}, ErrPassphraseRequired, "this export contains passwords: give the passphrase"},
		{"wrong passphrase", data, ImportOptions{Passphrase: wrongPass}, ErrWrongPassphrase, "wrong passphrase"},
		{"project altered", editDoc(t, data, func(m map[string]any) {
			m["project"].(map[string]any)["source"].(map[string]any)["host"] = "evil.example.net"
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrExportDamaged, "altered or damaged"},
		{"user added", editDoc(t, data, func(m map[string]any) {
			m["users"] = append(m["users"].([]any), map[string]any{"source_email": "mallory@example.com"})
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrExportDamaged, "altered or damaged"},
		{"ciphertext flipped", editDoc(t, data, func(m map[string]any) {
			sealed := m["sealed_secrets"].(map[string]any)
			ct, _ := base64.StdEncoding.DecodeString(sealed["ciphertext"].(string))
			ct[len(ct)/2] ^= 1
			sealed["ciphertext"] = base64.StdEncoding.EncodeToString(ct)
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrExportDamaged, "altered or damaged"},
		{"salt changed", editDoc(t, data, func(m map[string]any) {
			m["sealed_secrets"].(map[string]any)["salt"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, saltLen))
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrWrongPassphrase, "wrong passphrase"},
		{"huge scrypt cost", editDoc(t, data, func(m map[string]any) {
			m["sealed_secrets"].(map[string]any)["n"] = 1 << 30
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrExportDamaged, "out of range"},
		{"clear secrets in version 2", editDoc(t, data, func(m map[string]any) {
			m["secrets"] = map[string]any{"x": base64.StdEncoding.EncodeToString([]byte("pw"))}
		}), ImportOptions{Passphrase: []byte(exportPass)}, ErrExportDamaged, "never holds passwords in clear"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.ImportProjectWith(c.data, c.opt)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %v, want %v (%q)", err, c.want, c.text)
			}
			for _, secret := range []string{exportPass, string(wrongPass), adminSecret, aliceSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q shows a secret", err)
				}
			}
			if _, err := s.Project("Acme"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused import left the project: %v", err)
			}
		})
	}
	// Without the passwords: no passphrase needed, every ref blank.
	p, err := s.ImportProjectWith(data, ImportOptions{WithoutSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.User("Acme", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.PasswordRef != "" || u.SourcePasswordRef != "" || p.Source.Host != "imap.example.com" {
		t.Fatalf("import without secrets: project %+v, user %+v", p.Source, u)
	}
}

// TestImportVersion1Clear: files written by earlier MailFerry versions
// (version 1, secrets in clear base64) are still read.
func TestImportVersion1Clear(t *testing.T) {
	s := openTest(t)
	v1 := fmt.Sprintf(`{"format":"mailferry-project","version":1,"exported":"2026-01-02T03:04:05Z",
 "project":{"name":"Old","source":{"type":"imap","host":"imap.example.com","port":993,"security":"ssl","admin_user":"admin","password_ref":"r1"},
  "options":{"max_concurrent_users":4}},
 "users":[{"source_email":"bob@example.com","source_password_ref":"r2"},{"source_email":"carol@example.com","source_password_ref":"gone"}],
 "secrets":{"r1":%q,"r2":%q},"note":"clear"}`,
		base64.StdEncoding.EncodeToString([]byte(adminSecret)), base64.StdEncoding.EncodeToString([]byte(aliceSecret)))
	info, err := InspectExport([]byte(v1))
	if err != nil || info.Version != 1 || !info.ClearSecrets || info.Sealed {
		t.Fatalf("InspectExport: %+v, %v", info, err)
	}
	p, err := s.ImportProject([]byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Secret(p.Source.PasswordRef); err != nil || string(pw) != adminSecret {
		t.Fatalf("admin password: %q, %v", pw, err)
	}
	us, err := s.Users("Old")
	if err != nil || len(us) != 2 {
		t.Fatalf("users: %+v, %v", us, err)
	}
	if pw, err := s.Secret(us[0].SourcePasswordRef); err != nil || string(pw) != aliceSecret {
		t.Fatalf("bob's password: %q, %v", pw, err)
	}
	if us[1].SourcePasswordRef != "" || us[1].Status != project.StatusNotSubmitted {
		t.Fatalf("carol (dangling ref): %+v", us[1])
	}
	// Re-exporting never writes version 1 or clear secrets.
	out, err := s.ExportProjectSealed("Old", []byte(exportPass))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"version": 2`)) || bytes.Contains(out, []byte(`"secrets"`)) ||
		bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString([]byte(adminSecret)))) {
		t.Fatalf("re-export:\n%s", out)
	}
}

// BenchmarkExportProjectSealed measures a sealed export (dominated by
// scrypt N=2^15, r=8, p=1) of a project with 100 users with passwords.
func BenchmarkExportProjectSealed(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "mf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateProject(newProject("Bench")); err != nil {
		b.Fatal(err)
	}
	users := make([]project.User, 100)
	for i := range users {
		ref, err := s.SetSecret([]byte(fmt.Sprintf("pw-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		users[i] = project.User{SourceEmail: fmt.Sprintf("u%03d@example.com", i), SourcePasswordRef: ref}
	}
	if err := s.PutUsers("Bench", users); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.ExportProjectSealed("Bench", []byte(exportPass)); err != nil {
			b.Fatal(err)
		}
	}
}

// A sealed export imports under another name while its own name is taken
// (ImportOptions.Name): the passwords open, the original is untouched.
func TestImportSealedUnderAnotherName(t *testing.T) {
	s := openTest(t)
	data := sealedFixture(t, s)
	if _, err := s.ImportProjectWith(data, ImportOptions{Passphrase: []byte(exportPass)}); !errors.Is(err, ErrExists) {
		t.Fatalf("import over the existing name: %v, want ErrExists", err)
	}
	p, err := s.ImportProjectWith(data, ImportOptions{Passphrase: []byte(exportPass), Name: " Acme (2) "})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Acme (2)" {
		t.Fatalf("imported as %q, want %q", p.Name, "Acme (2)")
	}
	u, err := s.User("Acme (2)", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Secret(u.SourcePasswordRef); err != nil || string(pw) != aliceSecret {
		t.Fatalf("alice's password in the copy: %q, %v", pw, err)
	}
	orig, err := s.User("Acme", "alice@example.com")
	if err != nil || orig.SourcePasswordRef == u.SourcePasswordRef {
		t.Fatalf("the original keeps its own sealed password: %+v, %v", orig, err)
	}
	if _, err := s.ImportProjectWith(data, ImportOptions{WithoutSecrets: true, Name: "bad/name"}); err == nil {
		t.Fatal("an invalid name was accepted")
	}
}
