package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/secret"
)

// Errors callers test with errors.Is. They are always wrapped with context.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrLocked       = errors.New("database locked")
	ErrNotMailFerry = errors.New("not a MailFerry database")
	ErrNewerSchema  = errors.New("database made by a newer MailFerry")
)

// EnvDB names the environment variable that overrides DefaultPath.
const EnvDB = "MAILFERRY_DB"

// KeyFileName is the key file Open uses, next to the database.
const KeyFileName = "mailferry.key"

const magic = "mailferry"

var (
	bucketMeta     = []byte("meta")
	bucketSettings = []byte("settings")
	bucketSecrets  = []byte("secrets")
	bucketUsers    = []byte("users")
	keyMagic       = []byte("magic")
	keySchema      = []byte("schema")
	keyProject     = []byte("project")
	projPrefix     = []byte("proj/")
)

// currentSchema is the schema version this code writes. migrations[v]
// upgrades a database from version v-1 to v; Open applies every step from
// the stored version up to currentSchema in one transaction.
var (
	currentSchema = 1
	migrations    = map[int]func(tx *bbolt.Tx) error{}
)

// lockTimeout is how long Open waits for another process's lock.
var lockTimeout = time.Second

// Store is an open MailFerry database.
type Store struct {
	db         *bbolt.DB
	path       string
	sealer     secret.Sealer
	sealerInfo secret.Info
	// copyFile is the temporary copy a read-only Store reads (OpenReadOnly
	// through ShareReadOnly), removed by Close.
	copyFile string
}

// DefaultPath is $MAILFERRY_DB if set, else
// <os.UserConfigDir()>/MailFerry/mailferry.db.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvDB); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory (set %s to choose a database file): %w", EnvDB, err)
	}
	return filepath.Join(dir, "MailFerry", "mailferry.db"), nil
}

// Open opens (creating if needed) the database at path ("" means
// DefaultPath) and seals secrets with secret.Default for its directory: the
// OS keychain when it works, else the key file mailferry.key next to the
// database. A new key is made only while the database holds no sealed
// secrets.
func Open(path string) (*Store, error) {
	s, err := openDefault(path)
	if err != nil {
		return nil, err
	}
	sealer, info, err := secret.DefaultWith(filepath.Dir(s.path), secret.Options{NoCreate: s.secretCount() > 0})
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening database %s: %w", s.path, err)
	}
	s.sealer, s.sealerInfo = sealer, info
	return s, nil
}

// SealerInfo says where Open found the data key (keychain or key file), for
// the GUI and CLI to show. It is zero for a Store from OpenWith.
func (s *Store) SealerInfo() secret.Info { return s.sealerInfo }

// secretCount is the number of sealed secrets in the database.
func (s *Store) secretCount() int {
	n := 0
	_ = view(s.db, func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucketSecrets); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// OpenWith opens the database at path ("" means DefaultPath) with the
// given sealer.
func OpenWith(path string, sealer secret.Sealer) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("store.OpenWith: nil sealer")
	}
	s, err := openDefault(path)
	if err != nil {
		return nil, err
	}
	s.sealer = sealer
	return s, nil
}

func open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	db, err := openBolt(path)
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return nil, fmt.Errorf("database %s is in use by another running MailFerry (close it first): %w", path, ErrLocked)
	case errors.Is(err, bbolt.ErrInvalid), errors.Is(err, bbolt.ErrChecksum), errors.Is(err, bbolt.ErrVersionMismatch),
		err != nil && notADatabase(err):
		return nil, fmt.Errorf("opening %s: the file is not a database (%v): %w", path, err, ErrNotMailFerry)
	case err != nil:
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	return newStore(db, path, (*Store).initSchema)
}

// openDefault is open with "" meaning DefaultPath.
func openDefault(path string) (*Store, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return open(path)
}

// newStore wraps an open database and runs check (schema set-up or
// check) on it; on failure the database is closed again.
func newStore(db *bbolt.DB, path string, check func(*Store) error) (*Store, error) {
	s := &Store{db: db, path: path}
	if err := check(s); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// initSchema checks the magic, initialises a new file and runs migrations.
// A database that is already current is not written to, so opening a
// file that turns out to be damaged or foreign leaves it as it was.
func (s *Store) initSchema() error {
	current := false
	if err := view(s.db, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		v, err := strconv.Atoi(string(meta.Get(keySchema)))
		current = err == nil && v == currentSchema && bytes.Equal(meta.Get(keyMagic), []byte(magic)) &&
			tx.Bucket(bucketSettings) != nil && tx.Bucket(bucketSecrets) != nil
		return nil
	}); err != nil {
		return err
	}
	if current {
		return nil
	}
	return update(s.db, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bbolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("%s is a bbolt database of another program (no MailFerry meta data): %w", s.path, ErrNotMailFerry)
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return fmt.Errorf("initialising %s: %w", s.path, err)
			}
			if err := meta.Put(keyMagic, []byte(magic)); err != nil {
				return fmt.Errorf("initialising %s: %w", s.path, err)
			}
			if err := meta.Put(keySchema, []byte(strconv.Itoa(currentSchema))); err != nil {
				return fmt.Errorf("initialising %s: %w", s.path, err)
			}
			for _, b := range [][]byte{bucketSettings, bucketSecrets} {
				if _, err := tx.CreateBucket(b); err != nil {
					return fmt.Errorf("initialising %s: %w", s.path, err)
				}
			}
			return nil
		}
		if !bytes.Equal(meta.Get(keyMagic), []byte(magic)) {
			return fmt.Errorf("%s has a meta bucket without the MailFerry magic: %w", s.path, ErrNotMailFerry)
		}
		v, err := strconv.Atoi(string(meta.Get(keySchema)))
		if err != nil || v < 1 {
			return fmt.Errorf("%s: schema version %q is damaged: %w", s.path, meta.Get(keySchema), ErrNotMailFerry)
		}
		if v > currentSchema {
			return fmt.Errorf("%s has schema version %d but this MailFerry understands up to %d; use a newer MailFerry: %w",
				s.path, v, currentSchema, ErrNewerSchema)
		}
		for next := v + 1; next <= currentSchema; next++ {
			m := migrations[next]
			if m == nil {
				return fmt.Errorf("%s: no migration to schema version %d", s.path, next)
			}
			if err := m(tx); err != nil {
				return fmt.Errorf("%s: migrating to schema version %d: %w", s.path, next, err)
			}
			if err := meta.Put(keySchema, []byte(strconv.Itoa(next))); err != nil {
				return fmt.Errorf("%s: migrating to schema version %d: %w", s.path, next, err)
			}
		}
		for _, b := range [][]byte{bucketSettings, bucketSecrets} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("%s: %w", s.path, err)
			}
		}
		return nil
	})
}

// SchemaVersion is the schema version of the open database.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	err := view(s.db, func(tx *bbolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchema)))
		return err
	})
	return v, err
}

// Close closes the database and releases its lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.copyFile != "" {
		os.Remove(s.copyFile)
	}
	return err
}

// ReadOnly reports whether the Store was opened with OpenReadOnly (every
// write fails).
func (s *Store) ReadOnly() bool { return s.db.IsReadOnly() }

// Path is the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Bolt is the underlying bbolt handle, for sibling packages that keep their
// own nested buckets inside a project's bucket (see ProjectBucket).
func (s *Store) Bolt() *bbolt.DB { return s.db }

// ProjectBucket is the top-level bucket of project name, or nil if there is
// no such project. Sibling packages create their own nested buckets in it;
// they move with RenameProject and go with DeleteProject.
func ProjectBucket(tx *bbolt.Tx, name string) *bbolt.Bucket {
	return tx.Bucket(projectKey(name))
}

func projectKey(name string) []byte {
	return append(bytes.Clone(projPrefix), name...)
}
