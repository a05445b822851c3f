package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// Defaults for Setup.
const (
	DefaultMaxSize = 5 << 20 // bytes per file
	DefaultKeep    = 5       // rotated files kept besides the current one
	FileName       = "mailferry.log"
)

// Options tune SetupWith.
type Options struct {
	Level   slog.Leveler
	MaxSize int64 // 0 means DefaultMaxSize
	Keep    int   // 0 means DefaultKeep; negative means keep none
	// AddSource adds the caller's file:line to each record.
	AddSource bool
}

// DefaultDir is MailFerry's directory in the user's config directory
// (<config>/MailFerry, where the database lives): the dir Setup is given
// by the program.
func DefaultDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory: %w", err)
	}
	return filepath.Join(dir, "MailFerry"), nil
}

// LogDir is the folder SetupWith(dir, …) writes the log files to.
func LogDir(dir string) string { return filepath.Join(dir, "logs") }

// Setup is SetupWith(dir, Options{Level: level}).
func Setup(dir string, level slog.Level) (*slog.Logger, io.Closer, error) {
	return SetupWith(dir, Options{Level: level})
}

// SetupWith opens dir/logs/mailferry.log (directory 0700, file 0600,
// rotated by size) and returns a logger writing redacted JSON records to
// it, and the closer of the file. dir is normally the MailFerry config
// directory (the database's directory).
func SetupWith(dir string, opt Options) (*slog.Logger, io.Closer, error) {
	if opt.MaxSize <= 0 {
		opt.MaxSize = DefaultMaxSize
	}
	switch {
	case opt.Keep == 0:
		opt.Keep = DefaultKeep
	case opt.Keep < 0:
		opt.Keep = 0
	}
	if opt.Level == nil {
		opt.Level = slog.LevelInfo
	}
	logDir := LogDir(dir)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating log directory: %w", err)
	}
	rf, err := OpenRotating(filepath.Join(logDir, FileName), opt.MaxSize, opt.Keep)
	if err != nil {
		return nil, nil, err
	}
	h := slog.NewJSONHandler(rf, &slog.HandlerOptions{Level: opt.Level, AddSource: opt.AddSource})
	return slog.New(NewRedactingHandler(h)), rf, nil
}
