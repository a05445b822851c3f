//go:build unix

package testsrv

import (
	"errors"
	"log/slog"
	"os"
	"syscall"
	"time"
)

// terminate asks a Dovecot master to shut down.
func terminate(p *os.Process) { _ = p.Signal(syscall.SIGTERM) }

// killGroup kills every process of the process group led by pid.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// waitGroupGone waits until no process of the group led by pid is left,
// killing the stragglers after timeout. It gives up after twice the
// timeout and says so. Zombies do not count: they are dead, only not yet
// reaped by init.
func waitGroupGone(pid int, timeout time.Duration) {
	gone := func() bool { return errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH) || onlyZombies(pid) }
	start := time.Now()
	killed := false
	for !gone() {
		switch elapsed := time.Since(start); {
		case elapsed > 2*timeout:
			slog.Warn("testsrv: dovecot process group still present after SIGKILL", "pgid", pid)
			return
		case elapsed > timeout && !killed:
			killGroup(pid)
			killed = true
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
