//go:build unix && !linux

package testsrv

import "syscall"

// sysProcAttr puts Dovecot in its own process group so Stop can reach
// every child.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// onlyZombies is not known without /proc; waitGroupGone then relies on
// signal 0 alone.
func onlyZombies(int) bool { return false }
