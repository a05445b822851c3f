package store

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"syscall"

	"go.etcd.io/bbolt"
)

// ErrDamaged means the database file is damaged: bbolt found a page it
// cannot read (it panics on those) or a write to the disk failed half-way.
var ErrDamaged = errors.New("database file damaged")

// view runs a read transaction; a panic of bbolt on a damaged page, or a
// memory fault on a page the file does not hold (a truncated file is
// mapped past its end: SIGBUS, made a panic by debug.SetPanicOnFault),
// becomes an ErrDamaged error naming the file.
func view(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverDamage(db, &err)
	return db.View(fn)
}

// update runs a write transaction like view. An error of the commit itself
// (a full disk, an I/O error) is wrapped with the file name; fn's own
// errors are returned as they are. bbolt rolls the transaction back in
// both cases, so the file keeps its previous content.
func update(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverDamage(db, &err)
	var fnErr error
	err = db.Update(func(tx *bbolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && fnErr == nil {
		err = fmt.Errorf("writing database %s: %w", db.Path(), err)
	}
	return err
}

func recoverDamage(db *bbolt.DB, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("reading database %s: %v (restore a backup or start a new database): %w", db.Path(), r, ErrDamaged)
	}
}

// notADatabase reports whether an error of bbolt.Open is about the file's
// content (too small, unreadable pages) rather than about opening it
// (permissions, a missing directory: those are *fs.PathError).
func notADatabase(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return !errors.As(err, &pe) && !errors.As(err, &errno)
}

// openBolt is bbolt.Open with its panics on a damaged file (a truncated
// freelist, a bad page) turned into ErrDamaged. bbolt keeps the file open
// after such a panic, so this process cannot open it again until it exits.
func openBolt(path string) (db *bbolt.DB, err error) {
	return openBoltWith(path, &bbolt.Options{Timeout: lockTimeout})
}

// openBoltWith is openBolt with the given options.
func openBoltWith(path string, opt *bbolt.Options) (db *bbolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("opening %s: %v (restore a backup or start a new database): %w", path, r, ErrDamaged)
		}
	}()
	return bbolt.Open(path, 0o600, opt)
}
