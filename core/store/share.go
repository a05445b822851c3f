package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/secret"
)

// Read-only access while another process holds the database.
//
// bbolt locks the whole file: a writer holds an exclusive flock for as
// long as the file is open, so a read-only open (shared flock) waits for
// it. MailFerry's long-running holders (a migration, the credential
// server, the GUI) therefore share the database with ShareReadOnly: a
// loopback HTTP endpoint that streams a consistent copy of the file (one
// bbolt read transaction, Tx.WriteTo), guarded by a random token in the
// file <db>.share (mode 0600, next to the database, so only the same OS
// user can read it). OpenReadOnly fetches that copy into a temporary
// file and opens the copy when a process shares the file, and otherwise
// opens the file itself with a shared lock (waiting for a writer that does
// not share, like Open): it sees the holder's latest committed state, and
// can never write.

// shareInfo is the content of the share file.
type shareInfo struct {
	Addr  string `json:"addr"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

func sharePath(dbPath string) string { return dbPath + ".share" }

// ShareReadOnly lets other processes read the database while this one
// holds it (see OpenReadOnly). stop ends the sharing and removes the
// share file; Close does not call it.
func (s *Store) ShareReadOnly() (stop func(), err error) {
	var tb [32]byte
	if _, err := rand.Read(tb[:]); err != nil {
		return nil, fmt.Errorf("sharing database %s: %w", s.path, err)
	}
	token := hex.EncodeToString(tb[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sharing database %s: %w", s.path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+token)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_ = view(s.db, func(tx *bbolt.Tx) error {
			w.Header().Set("Content-Length", fmt.Sprint(tx.Size()))
			_, err := tx.WriteTo(w)
			return err
		})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	info, _ := json.Marshal(shareInfo{Addr: ln.Addr().String(), Token: token, PID: os.Getpid()})
	if err := writeFileAtomic(sharePath(s.path), info); err != nil {
		srv.Close()
		return nil, fmt.Errorf("sharing database %s: %w", s.path, err)
	}
	return func() {
		// Remove the file only while it is still ours.
		if b, err := os.ReadFile(sharePath(s.path)); err == nil {
			var cur shareInfo
			if json.Unmarshal(b, &cur) == nil && cur.Token == token {
				os.Remove(sharePath(s.path))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".share-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// OpenReadOnly opens the database at path ("" means DefaultPath) for
// reading only, next to a process that holds it open for writing: with a
// shared lock when nobody writes, else through the holder's ShareReadOnly
// copy. Every write through the returned Store fails. A database that
// does not exist yet is created (Open). ErrLocked when a writer holds the
// file and shares nothing.
func OpenReadOnly(path string) (*Store, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return Open(path)
	}
	// A process that shares the file holds it: read its copy. A share
	// file left by a process that died answers nothing, and the file's
	// lock decides.
	var s *Store
	var err error
	if _, serr := os.Stat(sharePath(path)); serr == nil {
		s, err = openShared(path)
	}
	if s == nil {
		s, err = openReadOnlyFile(path, path, lockTimeout)
	}
	if err != nil {
		return nil, err
	}
	sealer, info, err := secret.DefaultWith(filepath.Dir(path), secret.Options{NoCreate: true})
	if err != nil && s.secretCount() > 0 {
		s.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	s.sealer, s.sealerInfo = sealer, info
	return s, nil
}

// openReadOnlyFile opens file (the database, or a copy of it named name
// in errors) read-only with a shared lock.
func openReadOnlyFile(file, name string, wait time.Duration) (*Store, error) {
	db, err := openBoltWith(file, &bbolt.Options{ReadOnly: true, Timeout: wait})
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return nil, fmt.Errorf("database %s is in use by another running MailFerry that does not share it for reading: %w", name, ErrLocked)
	case err != nil:
		return nil, fmt.Errorf("opening database %s read-only: %w", name, err)
	}
	return newStore(db, name, (*Store).checkSchema)
}

// openShared copies the database from the process sharing it and opens
// the copy read-only; Close removes the copy.
func openShared(path string) (*Store, error) {
	b, err := os.ReadFile(sharePath(path))
	if err != nil {
		return nil, fmt.Errorf("no process shares it for reading: %w", err)
	}
	var info shareInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Addr == "" {
		return nil, fmt.Errorf("share file %s is damaged", sharePath(path))
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+info.Addr+"/snapshot", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+info.Token)
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking process %d for a copy: %w", info.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("asking process %d for a copy: %s", info.PID, resp.Status)
	}
	tmp, err := os.CreateTemp("", "mailferry-readonly-*.db")
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("copying the database from process %d: %w", info.PID, err)
	}
	s, err := openReadOnlyFile(tmp.Name(), path, lockTimeout)
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	s.copyFile = tmp.Name()
	return s, nil
}

// checkSchema is initSchema for a read-only database: it only checks.
func (s *Store) checkSchema() error {
	return view(s.db, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || string(meta.Get(keyMagic)) != magic {
			return fmt.Errorf("%s has no MailFerry meta data: %w", s.path, ErrNotMailFerry)
		}
		v, err := strconv.Atoi(string(meta.Get(keySchema)))
		switch {
		case err != nil || v < 1:
			return fmt.Errorf("%s: schema version %q is damaged: %w", s.path, meta.Get(keySchema), ErrNotMailFerry)
		case v > currentSchema:
			return fmt.Errorf("%s has schema version %d but this MailFerry understands up to %d; use a newer MailFerry: %w",
				s.path, v, currentSchema, ErrNewerSchema)
		case v < currentSchema:
			return fmt.Errorf("%s has the older schema version %d: open it once with a command that writes to upgrade it", s.path, v)
		}
		return nil
	})
}
