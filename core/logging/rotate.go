package logging

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
)

// RotatingFile is an io.WriteCloser that appends to a file and, before a
// write would take it past MaxSize, renames it to path.1 (path.1 to path.2,
// and so on) and starts a new one, keeping at most Keep old files. Each
// Write lands whole in one file, so a log record is never split. It is safe
// for concurrent use. Files are created with mode 0600.
type RotatingFile struct {
	mu      sync.Mutex
	path    string
	maxSize int64
	keep    int
	f       *os.File
	size    int64
	closed  bool
}

// OpenRotating opens (appending) or creates path. maxSize must be positive;
// keep is the number of rotated files kept besides the current one.
func OpenRotating(path string, maxSize int64, keep int) (*RotatingFile, error) {
	if maxSize <= 0 {
		return nil, fmt.Errorf("rotating log %s: max size %d must be positive", path, maxSize)
	}
	if keep < 0 {
		return nil, fmt.Errorf("rotating log %s: keep %d must not be negative", path, keep)
	}
	r := &RotatingFile{path: path, maxSize: maxSize, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// Path is the current log file's path.
func (r *RotatingFile) Path() string { return r.path }

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log file: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		// An older file readable by others: tighten it.
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return fmt.Errorf("opening log file: %w", err)
		}
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would not fit. A p larger than the
// maximum size goes whole into a fresh file.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("log file %s: %w", r.path, fs.ErrClosed)
	}
	if r.f != nil && r.size > 0 && r.size+int64(len(p)) > r.maxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	if r.f == nil { // an earlier rotation failed to reopen: try again
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing log file %s: %w", r.path, err)
	}
	return n, nil
}

// Rotate starts a new file now.
func (r *RotatingFile) Rotate() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("log file %s: %w", r.path, fs.ErrClosed)
	}
	return r.rotate()
}

func (r *RotatingFile) rotate() error {
	if r.f != nil {
		err := r.f.Close()
		r.f = nil
		if err != nil {
			return fmt.Errorf("rotating log file %s: %w", r.path, err)
		}
	}
	if r.keep == 0 {
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating log file %s: %w", r.path, err)
		}
	} else {
		// The oldest falls off; the others move up by one.
		if err := os.Remove(r.name(r.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating log file %s: %w", r.path, err)
		}
		for i := r.keep - 1; i >= 0; i-- {
			if err := os.Rename(r.name(i), r.name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("rotating log file %s: %w", r.path, err)
			}
		}
	}
	return r.open()
}

// name is the path of the i-th file: 0 the current one, i>0 path.i.
func (r *RotatingFile) name(i int) string {
	if i == 0 {
		return r.path
	}
	return r.path + "." + strconv.Itoa(i)
}

// Files lists the existing log files, newest first.
func (r *RotatingFile) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for i := 0; i <= r.keep; i++ {
		if _, err := os.Stat(r.name(i)); err == nil {
			out = append(out, filepath.Clean(r.name(i)))
		}
	}
	return out
}

// Sync flushes the current file to disk.
func (r *RotatingFile) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

// Close closes the file; later writes fail with fs.ErrClosed.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if err != nil {
		return fmt.Errorf("closing log file %s: %w", r.path, err)
	}
	return nil
}
