package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
)

// realDB writes a database with projects, users, secrets, settings and a
// journal-like nested bucket, closes it and returns its path.
func realDB(t *testing.T) string {
	t.Helper()
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		name := fmt.Sprintf("proj-%d", i)
		if err := s.CreateProject(newProject(name)); err != nil {
			t.Fatal(err)
		}
		var us []project.User
		for j := range 40 {
			ref, err := s.SetSecret([]byte(fmt.Sprintf("password %d/%d", i, j)))
			if err != nil {
				t.Fatal(err)
			}
			us = append(us, project.User{SourceEmail: fmt.Sprintf("u%d@p%d.example", j, i), SourcePasswordRef: ref,
				DestEmail: fmt.Sprintf("u%d@new%d.example", j, i)})
		}
		if err := s.PutUsers(name, us); err != nil {
			t.Fatal(err)
		}
		addJournal(t, s, name)
	}
	if err := s.SetSetting("theme", strings.Repeat("x", 3000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll opens path and reads everything a MailFerry run reads; a panic
// is turned into an error naming it.
func readAll(path string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	s, err := Open(path)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	ps, err := s.Projects()
	if err != nil {
		return err
	}
	for _, p := range ps {
		us, err := s.Users(p.Name)
		if err != nil {
			return err
		}
		for _, u := range us {
			if _, err := s.Secret(u.SourcePasswordRef); err != nil {
				return err
			}
		}
		if _, err := s.Journal().Users(p.Name); err != nil {
			return err
		}
	}
	_, err = s.Setting("theme")
	return err
}

// A damaged database file — truncated, or bytes flipped in the meta pages
// or anywhere — never panics: Open (or the first read of the damaged
// record) fails with an error (Open's names the file; a page bbolt cannot
// read is ErrDamaged), and the file is left byte for byte as it was.
func TestCorruptDatabase(t *testing.T) {
	good := realDB(t)
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The key file next to it is needed to read the secrets.
	key, err := os.ReadFile(filepath.Join(filepath.Dir(good), KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	type corruption struct {
		name string
		data []byte
	}
	var cases []corruption
	for _, n := range []int{1, 100, page - 1, page, 2*page - 1, 2 * page, 3 * page, len(orig) / 2, len(orig) - 1} {
		cases = append(cases, corruption{fmt.Sprintf("truncated to %d bytes", n), orig[:n]})
	}
	flip := func(offs ...int) []byte {
		b := append([]byte(nil), orig...)
		for _, o := range offs {
			b[o] ^= 0xA5
		}
		return b
	}
	cases = append(cases,
		corruption{"both meta pages' magic flipped", flip(16+4, page+16+4)},
		corruption{"both meta pages' checksums flipped", flip(16+56, page+16+56)},
		corruption{"both meta pages' root page id flipped", flip(16+16, page+16+16)},
		corruption{"both meta pages' page count flipped", flip(16+40, page+16+40)},
	)
	rng := rand.New(rand.NewPCG(11, 13))
	for i := range 60 {
		var offs []int
		for range 1 + i%4 {
			offs = append(offs, 2*page+rng.IntN(len(orig)-2*page))
		}
		cases = append(cases, corruption{fmt.Sprintf("data pages flipped at %v", offs), flip(offs...)})
	}
	refused, silent := 0, 0
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "mailferry.db")
		if err := os.WriteFile(path, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, KeyFileName), key, 0o600); err != nil {
			t.Fatal(err)
		}
		err := readAll(path)
		if err != nil && strings.HasPrefix(err.Error(), "PANIC") {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if err == nil {
			// Flipped bytes in free or unused space change nothing.
			silent++
			continue
		}
		refused++
		// Open names the file; a damaged record found later names the
		// record (project, user, secret).
		if strings.HasPrefix(err.Error(), "open: ") && !strings.Contains(err.Error(), path) {
			t.Errorf("%s: the error does not name the file: %v", c.name, err)
		}
		if after, err := os.ReadFile(path); err != nil || sha256.Sum256(after) != sha256.Sum256(c.data) {
			t.Errorf("%s: a refused file was changed (%v)", c.name, err)
		}
	}
	t.Logf("%d corruptions: %d refused with an error, %d harmless", len(cases), refused, silent)
	if refused < len(cases)/3 {
		t.Fatalf("only %d of %d corruptions were detected", refused, len(cases))
	}
}

// A file that is not a database, or a database of another program, is
// refused with ErrNotMailFerry and left unchanged.
func TestForeignFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"text":  []byte("this is a text file, not a database\n"),
		"zeros": make([]byte, 4*4096),
		"random": func() []byte {
			b := make([]byte, 3*4096)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		}(),
		"sqlite":  append([]byte("SQLite format 3\x00"), make([]byte, 4080)...),
		"foreign": nil, // a bbolt file of another program, made below
	}
	for name, data := range cases {
		path := filepath.Join(dir, name+".db")
		if data == nil {
			data = foreignBolt(t, path)
		} else if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		err := readAll(path)
		if err == nil || strings.HasPrefix(err.Error(), "PANIC") || !errors.Is(err, ErrNotMailFerry) {
			t.Errorf("%s: got %v, want ErrNotMailFerry", name, err)
		}
		if after, _ := os.ReadFile(path); sha256.Sum256(after) != sha256.Sum256(data) {
			t.Errorf("%s: the refused file was changed", name)
		}
	}
}

// A locked database gives ErrLocked with a message telling the user what
// to do, and the holder's data is intact.
func TestLockedDatabaseClearError(t *testing.T) {
	path := realDB(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "close it first") {
		t.Fatalf("got %v, want ErrLocked naming the file and what to do", err)
	}
	if ps, err := s.Projects(); err != nil || len(ps) != 8 {
		t.Fatalf("holder: %d projects, %v", len(ps), err)
	}
}

// diskFullEnv names the database path for the RLIMIT_FSIZE child.
const diskFullEnv = "MF_STORE_DISKFULL_DB"

// fillUntilError writes ever larger settings until a write fails; it
// returns how many succeeded and the error.
func fillUntilError(s *Store) (int, error) {
	for i := 0; i < 10000; i++ {
		v := strings.Repeat(strconv.Itoa(i%10), 16<<10)
		if err := s.SetSetting(fmt.Sprintf("big-%05d", i), v); err != nil {
			return i, err
		}
	}
	return 10000, nil
}

// TestDiskFullChild runs in a child process with RLIMIT_FSIZE set (only
// when diskFullEnv is set): it fills the database until the write fails and
// prints "ok=N err=..." .
func TestDiskFullChild(t *testing.T) {
	path := os.Getenv(diskFullEnv)
	if path == "" {
		t.Skip("helper for TestDiskFull")
	}
	signal.Ignore(syscall.SIGXFSZ)
	s, err := Open(path)
	if err != nil {
		fmt.Printf("open-error=%v\n", err)
		os.Exit(5)
	}
	lim := syscall.Rlimit{Cur: 2 << 20, Max: 2 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Printf("setrlimit-error=%v\n", err)
		os.Exit(6)
	}
	n, err := fillUntilError(s)
	s.Close()
	fmt.Printf("ok=%d err=%v\n", n, err)
	os.Exit(0)
}

// A full disk (a 512 KiB tmpfs when mounting is allowed, else a file size
// limit) makes the write fail with an error naming the cause, and no
// partial state: the database opens afterwards with everything written
// before the failure and nothing of the failed write.
func TestDiskFull(t *testing.T) {
	base := t.TempDir()
	mnt := filepath.Join(base, "tiny")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	// MF_STORE_NO_TMPFS=1 forces the RLIMIT_FSIZE path (as on CI runners
	// that may not mount).
	mounted := os.Getenv("MF_STORE_NO_TMPFS") == "" &&
		exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt).Run() == nil
	var path string
	var ok int
	var werr string
	if mounted {
		t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
		path = filepath.Join(mnt, "mailferry.db")
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateProject(newProject("keep")); err != nil {
			t.Fatal(err)
		}
		n, err := fillUntilError(s)
		if err == nil {
			t.Fatal("10000 writes of 16 KiB fitted in a 512 KiB file system")
		}
		// The file system is still full: a second write fails too, cleanly.
		if err2 := s.SetSetting("again", strings.Repeat("y", 64<<10)); err2 == nil {
			t.Error("a write on a full disk succeeded")
		}
		s.Close()
		ok, werr = n, err.Error()
		t.Logf("tmpfs: %d writes, then: %v", n, err)
		if !strings.Contains(werr, "no space left") {
			t.Errorf("the error does not say the disk is full: %v", werr)
		}
	} else {
		t.Log("cannot mount a tmpfs here; limiting the file size (RLIMIT_FSIZE) in a child process instead")
		path = filepath.Join(base, "mailferry.db")
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateProject(newProject("keep")); err != nil {
			t.Fatal(err)
		}
		s.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$")
		cmd.Env = append(os.Environ(), diskFullEnv+"="+path)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		line := strings.TrimSpace(string(out))
		line = line[strings.LastIndex(line, "ok="):]
		if _, err := fmt.Sscanf(line, "ok=%d", &ok); err != nil {
			t.Fatalf("child said %q", out)
		}
		_, werr, _ = strings.Cut(line, " err=")
		t.Logf("RLIMIT_FSIZE: %d writes, then: %s", ok, werr)
		if werr == "<nil>" || !strings.Contains(werr, "file too large") {
			t.Errorf("the error does not say why the write failed: %s", werr)
		}
	}
	if ok == 0 {
		t.Fatal("not even one write succeeded: the limit is too small to test partial state")
	}
	if !strings.Contains(werr, "writing database") || !strings.Contains(werr, "mailferry.db") {
		t.Errorf("the error does not say which database could not be written: %s", werr)
	}
	// Reopen (the tmpfs is still full: reading must work regardless).
	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopening after the disk filled up: %v", err)
	}
	defer s.Close()
	if _, err := s.Project("keep"); err != nil {
		t.Errorf("the project written before the disk filled up: %v", err)
	}
	for i := range ok {
		v, err := s.Setting(fmt.Sprintf("big-%05d", i))
		if err != nil || len(v) != 16<<10 || v[0] != byte('0'+i%10) {
			t.Fatalf("setting %d written before the failure: %d bytes, %v", i, len(v), err)
		}
	}
	if v, err := s.Setting(fmt.Sprintf("big-%05d", ok)); err == nil && v != "" {
		t.Fatalf("the failed write left a value of %d bytes", len(v))
	}
}

// foreignBolt makes a bbolt database of another program at path and
// returns its bytes.
func foreignBolt(t *testing.T, path string) []byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("widgets"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
