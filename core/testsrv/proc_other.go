//go:build !unix

package testsrv

import (
	"os"
	"syscall"
	"time"
)

// Dovecot only runs on Unix; these keep the package (and the demo that
// uses its in-memory servers) building elsewhere.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) { _ = p.Kill() }

func killGroup(int) {}

func waitGroupGone(int, time.Duration) {}

func processAlive(int) bool { return true }
