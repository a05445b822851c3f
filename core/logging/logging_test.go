package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/core/mailbox"
)

const pw = "Sup3r-S3cr3t!pässwörd"

type endpoint struct {
	Host     string
	User     string
	Password string
	Nested   struct {
		APIKey string `json:"api_key"`
		Port   int
	}
}

type credValuer struct{}

func (credValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "ann"), slog.String("smtpPassword", pw))
}

func readAll(t *testing.T, dir string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "logs", FileName+"*"))
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	return all.String()
}

func TestSetupRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	log, closer, err := Setup(dir, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	ep := endpoint{Host: "imap.example.com", User: "admin", Password: pw}
	ep.Nested.APIKey = pw
	ep.Nested.Port = 993
	body := []byte("From: a@example.com\r\nSubject: confidential\r\n\r\nThe merger closes Friday.\r\n")

	log.Info("login", "user", "ann@example.com", "password", pw, "pass_name", "full")
	log.Info("nested",
		slog.Group("smtp", slog.String("host", "mail.example.com"), slog.String("Pass", pw),
			slog.Group("inner", slog.String("authToken", pw), slog.Int("port", 587))))
	log.With("API_KEY", pw).WithGroup("session").Info("with", "cookie", pw, "id", 7)
	log.WithGroup("credentials").Info("secret group", "user", pw)
	log.WithGroup("auth").WithGroup("basic").Info("secret outer group", "value", pw)
	log.Debug("values", "endpoint", ep, "ptr", &ep, "m", map[string]any{"Authorization": "Basic " + pw, "ok": 1},
		"body", body, "msg", mailbox.Message{Meta: mailbox.Meta{UID: 42}, Body: body},
		"long", strings.Repeat("x", MaxString+1), "valuer", credValuer{},
		"list", []map[string]string{{"token": pw}})
	log.Error("failed", "err", errors.New(Redact("LOGIN failed for ann "+strconv.Quote(pw), pw)))
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	out := readAll(t, dir)
	for _, leak := range []string{pw, "S3cr3t", "merger", "confidential"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{
		`"user":"ann@example.com"`, `"pass_name":"full"`, `"password":"[redacted]"`,
		`"smtp":{"host":"mail.example.com","Pass":"[redacted]","inner":{"authToken":"[redacted]","port":587}}`,
		`"API_KEY":"[redacted]"`, `"session":{"cookie":"[redacted]","id":7}`,
		`"credentials":{"user":"[redacted]"}`, `"auth":{"basic":{"value":"[redacted]"}}`,
		`"Host":"imap.example.com"`, `"Password":"[redacted]"`, `"api_key":"[redacted]"`, `"Port":993`,
		`"Authorization":"[redacted]"`, `"ok":1`,
		fmt.Sprintf(`"body":"[%d bytes]"`, len(body)),
		fmt.Sprintf(`"msg":"[message uid=42, %d bytes]"`, len(body)),
		fmt.Sprintf(`"long":"[%d bytes]"`, MaxString+1),
		`"valuer":{"user":"ann","smtpPassword":"[redacted]"}`,
		`"list":[{"token":"[redacted]"}]`,
		`LOGIN failed for ann \"[redacted]\"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
	// Every line is one JSON record.
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(filepath.Join(dir, "logs", FileName))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("log file mode: %v %v", st, err)
		}
		st, err = os.Stat(filepath.Join(dir, "logs"))
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("log dir mode: %v %v", st, err)
		}
	}
}

func TestSetupLevel(t *testing.T) {
	dir := t.TempDir()
	log, closer, err := Setup(dir, slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("quiet")
	log.Warn("loud")
	closer.Close()
	out := readAll(t, dir)
	if strings.Contains(out, "quiet") || !strings.Contains(out, "loud") {
		t.Fatalf("level filter: %s", out)
	}
}

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password": true, "Password": true, "PASSWORD": true, "smtpPassword": true, "source_password_ref": true,
		"pass": true, "Pass": true, "admin_pass": true, "adminPass": true, "passwd": true, "passphrase": true,
		"secret": true, "client_secret": true, "token": true, "accessToken": true, "X-Auth-Token": true,
		"authorization": true, "Proxy-Authorization": true, "auth": true, "basic_auth": true, "cookie": true,
		"Set-Cookie": true, "key": true, "api_key": true, "APIKey": true, "apikey": true, "credential": true,
		"Credentials": true, "pwd": true, "private_key": true,
		"user": false, "host": false, "pass_name": false, "passes": false, "bypass": false, "key_file": false,
		"auth_method": false, "monkey": false, "keyboard": false, "folder": false, "uid": false, "msgkey": false,
		"": false, "size": false, "author": false,
	} {
		if got := IsSecretKey(key); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	sec := `p@ss "w\ord"/ü`
	for _, in := range []string{
		"plain " + sec + " end",
		"url https://u:" + urlQuery(sec) + "@host/",
		`imap a1 LOGIN ann "p@ss \"w\\ord\"/ü"`,
		"b64 " + b64(sec),
	} {
		out := Redact(in, sec, "")
		if strings.Contains(out, "w\\ord") || strings.Contains(out, "ord") || !strings.Contains(out, Redacted) {
			t.Errorf("Redact(%q) = %q", in, out)
		}
	}
	if got := Redact("nothing here", "", "zzz"); got != "nothing here" {
		t.Fatalf("got %q", got)
	}
	// A secret that contains another is removed whole.
	if got := Redact("x hunter2-long x", "hunter2", "hunter2-long"); got != "x [redacted] x" {
		t.Fatalf("got %q", got)
	}
}

func TestRotationAtSizeKeepsN(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "test.log")
	rf, err := OpenRotating(path, 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) []byte { return fmt.Appendf(nil, "%05d %s\n", i, strings.Repeat("x", 93)) } // 100 bytes
	for i := range 100 {
		if n, err := rf.Write(line(i)); err != nil || n != 100 {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	if err := rf.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rf.Write([]byte("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
	// 100 lines of 100 bytes, 10 per file: current = 90..99, .1 = 80..89,
	// .2 = 70..79, .3 = 60..69, no .4.
	for i, name := range []string{path, path + ".1", path + ".2", path + ".3"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 1000 {
			t.Fatalf("%s has %d bytes, want 1000", name, len(b))
		}
		first := 90 - 10*i
		if !bytes.HasPrefix(b, line(first)) || !bytes.HasSuffix(b, line(first+9)) {
			t.Fatalf("%s holds the wrong lines: %q…", name, b[:6])
		}
		if st, _ := os.Stat(name); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %04o", name, st.Mode().Perm())
		}
	}
	if _, err := os.Stat(path + ".4"); err == nil {
		t.Fatal("more than 3 rotated files kept")
	}
}

func TestRotationOversizedRecordAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.log")
	rf, err := OpenRotating(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	rf.Write([]byte("small\n"))
	big := bytes.Repeat([]byte("B"), 250)
	if n, err := rf.Write(big); err != nil || n != 250 {
		t.Fatalf("%d, %v", n, err)
	}
	rf.Close()
	if b, _ := os.ReadFile(path); !bytes.Equal(b, big) {
		t.Fatalf("oversized record not alone in a fresh file: %d bytes", len(b))
	}
	if b, _ := os.ReadFile(path + ".1"); string(b) != "small\n" {
		t.Fatalf(".1 = %q", b)
	}
	// Reopening appends and counts the existing size.
	rf, err = OpenRotating(path, 252, 2)
	if err != nil {
		t.Fatal(err)
	}
	rf.Write([]byte("more\n"))
	rf.Close()
	if b, _ := os.ReadFile(path + ".1"); !bytes.Equal(b, big) {
		t.Fatalf("reopen did not rotate by the existing size: .1 has %d bytes", len(b))
	}
	if got := len(rf.Files()); got != 3 {
		t.Fatalf("Files() = %d, want 3", got)
	}
}

func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	log, closer, err := SetupWith(dir, Options{Level: slog.LevelInfo, MaxSize: 16 << 10, Keep: 1000})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("worker", w)
			for i := range each {
				l.Info("record", "i", i, "password", pw, "pad", strings.Repeat("p", 50))
			}
		}()
	}
	wg.Wait()
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "logs", FileName+"*"))
	if len(files) < 3 {
		t.Fatalf("only %d files: rotation did not happen under load", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 16<<10 {
			t.Fatalf("%s has %d bytes, over the limit", f, len(b))
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var rec struct {
				Worker, I int
				Password  string
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: torn record %q: %v", f, sc.Text(), err)
			}
			if rec.Password != Redacted {
				t.Fatalf("password not redacted: %q", sc.Text())
			}
			k := fmt.Sprint(rec.Worker, "/", rec.I)
			if seen[k] {
				t.Fatalf("record %s twice", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d records, want %d", len(seen), workers*each)
	}
}

func BenchmarkRedactingHandler(b *testing.B) {
	log, closer, err := SetupWith(b.TempDir(), Options{MaxSize: 1 << 20, Keep: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	b.ReportAllocs()
	for b.Loop() {
		log.Info("message appended", "user", "ann@example.com", "folder", "INBOX/Archive", "uid", 4711,
			"bytes", 20480, "password", pw)
	}
}
