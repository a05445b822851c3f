//go:build darwin || linux

package awake

import (
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"
)

// startChild starts the OS tool that holds the system awake while it
// runs; its stdin is a pipe from us (closing it ends tools that read it).
// A child that exits within settle (no session bus, refused) is an error.
func startChild(name string, args ...string) (*exec.Cmd, io.WriteCloser, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s not found: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	var out limitedBuffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		in.Close()
		return nil, nil, fmt.Errorf("%s ended at once (%v): %s", name, err, out.String())
	case <-time.After(settle):
	}
	go func() {
		if err := <-exited; err != nil {
			slog.Debug("keep-awake helper ended", "tool", name, "err", err)
		}
	}()
	return cmd, in, nil
}

// settle is how long a keep-awake tool must stay up to count as holding.
const settle = 150 * time.Millisecond

// limitedBuffer keeps the first 512 bytes a tool writes to stderr.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if n := 512 - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
