package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// holderEnv makes the test binary a process that holds a database: it
// opens it for writing (sharing it unless holderNoShare), says "ready",
// then creates one project per "create NAME" line of stdin and exits at
// EOF.
const (
	holderEnv     = "MF_STORE_TEST_HOLD"
	holderNoShare = "MF_STORE_TEST_HOLD_NOSHARE"
)

func TestHolderChild(t *testing.T) {
	path := os.Getenv(holderEnv)
	if path == "" {
		return // only a helper process for TestReadOnlyNextToAWriter
	}
	s, err := Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	if os.Getenv(holderNoShare) == "" {
		stop, err := s.ShareReadOnly()
		if err != nil {
			fmt.Println("share:", err)
			os.Exit(2)
		}
		defer stop()
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		name, ok := strings.CutPrefix(in.Text(), "create ")
		if !ok {
			continue
		}
		if err := s.CreateProject(project.Project{Name: name, Options: project.DefaultOptions()}); err != nil {
			fmt.Println("create:", err)
			os.Exit(2)
		}
		fmt.Println("created", name)
	}
}

type holder struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHolder(t *testing.T, path string, share bool) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderChild$")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	if !share {
		cmd.Env = append(cmd.Env, holderNoShare+"=1")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(func() { h.in.Close(); h.cmd.Wait() })
	h.expect(t, "ready")
	return h
}

func (h *holder) expect(t *testing.T, want string) {
	t.Helper()
	if !h.out.Scan() || h.out.Text() != want {
		t.Fatalf("holder said %q (%v), want %q", h.out.Text(), h.out.Err(), want)
	}
}

func projectNames(t *testing.T, s *Store) string {
	t.Helper()
	ps, err := s.Projects()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

// TestReadOnlyNextToAWriter runs a second process that holds the
// database for writing (bbolt's exclusive flock) and reads it from this
// one: through the holder's shared copy, which shows its latest commits
// and refuses writes; without sharing, ErrLocked.
func TestReadOnlyNextToAWriter(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(project.Project{Name: "Before", Options: project.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	h := startHolder(t, path, true)
	fmt.Fprintln(h.in, "create During")
	h.expect(t, "created During")
	r, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly next to a sharing writer: %v", err)
	}
	if got := projectNames(t, r); got != "Before,During" {
		t.Errorf("read-only copy has projects %q", got)
	}
	if !r.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	if err := r.CreateProject(project.Project{Name: "Sneaky", Options: project.DefaultOptions()}); err == nil {
		t.Error("a write through the read-only store succeeded")
	}
	copyFile := r.copyFile
	if copyFile == "" || filepath.Dir(copyFile) == filepath.Dir(path) {
		t.Fatalf("read through %q, want a temporary copy", copyFile)
	}
	r.Close()
	if _, err := os.Stat(copyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy %s is still there after Close", copyFile)
	}
	// A later read sees what the holder wrote since.
	fmt.Fprintln(h.in, "create After")
	h.expect(t, "created After")
	r, err = OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := projectNames(t, r); got != "After,Before,During" {
		t.Errorf("second read has projects %q", got)
	}
	r.Close()
	h.in.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	if _, err := os.Stat(sharePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Error("the share file outlived the holder")
	}

	// Nobody holds the file: two readers at once, each on the file itself.
	r1, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	if r1.copyFile != "" || r2.copyFile != "" || projectNames(t, r2) != "After,Before,During" {
		t.Errorf("readers of a free file: copies %q %q", r1.copyFile, r2.copyFile)
	}
	r1.Close()
	r2.Close()

	// A holder that does not share: a clear ErrLocked.
	startHolder(t, path, false)
	start := time.Now()
	_, err = OpenReadOnly(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("next to a holder that does not share: %v", err)
	}
	t.Logf("ErrLocked after %s", time.Since(start).Round(time.Millisecond))
}

// TestShareNeedsToken: the copy is only given to a client with the token
// of the share file.
func TestShareNeedsToken(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop, err := s.ShareReadOnly()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fi, err := os.Stat(sharePath(path))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("share file: %v, mode %v", err, fi.Mode())
	}
	b, _ := os.ReadFile(sharePath(path))
	forged := strings.Replace(string(b), `"token":"`, `"token":"x`, 1)
	if err := os.WriteFile(sharePath(path), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openShared(path); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("copy with a wrong token: %v", err)
	}
}

// TestStaleShareFile: a share file left by a process that died (kill -9)
// does not stop a read: nobody answers, the file's lock decides.
func TestStaleShareFile(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(project.Project{Name: "P", Options: project.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	if err := os.WriteFile(sharePath(path), []byte(`{"addr":"`+dead+`","token":"x","pid":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly with a stale share file: %v", err)
	}
	defer r.Close()
	if r.copyFile != "" || projectNames(t, r) != "P" {
		t.Fatalf("read through %q", r.copyFile)
	}
}

// BenchmarkOpenReadOnlyShared is what a status next to a running
// migration pays: copying a database that holds 10 users × 20,000
// journaled messages from the holder (same process here) and opening the
// copy.
func BenchmarkOpenReadOnlyShared(b *testing.B) {
	path := filepath.Join(b.TempDir(), "m.db")
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateProject(newProject("J")); err != nil {
		b.Fatal(err)
	}
	j := s.Journal()
	for u := 0; u < 10; u++ {
		for i := 0; i < 20000; i += 1000 {
			var bt Batch
			bt.Folder = "INBOX"
			for k := i; k < i+1000; k++ {
				bt.Done = append(bt.Done, DoneItem{Key: mailbox.SourceKey(1, uint32(k+1)),
					ContentKey: mailbox.ContentKey(fmt.Sprint("c:", u, k)), Size: 1000})
			}
			if err := j.Commit("J", fmt.Sprint("u", u), bt); err != nil {
				b.Fatal(err)
			}
		}
	}
	stop, err := s.ShareReadOnly()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		r, err := OpenReadOnly(path)
		if err != nil {
			b.Fatal(err)
		}
		if r.copyFile == "" {
			b.Fatal("not read through the holder's copy")
		}
		r.Close()
	}
}
