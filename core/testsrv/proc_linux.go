package testsrv

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts Dovecot in its own process group (so Stop can reach
// every child) and asks the kernel to terminate the master if the test
// process dies first, so a killed test leaves no daemon behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// onlyZombies reports whether every process left in the process group pgid
// is a zombie (dead, waiting to be reaped by init), reading /proc.
func onlyZombies(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and ')'.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid && f[0] != "Z" {
			return false
		}
	}
	return true
}
