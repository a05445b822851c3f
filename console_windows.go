//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachParentConsole lets the GUI-subsystem MailFerry.exe (linked with
// -H=windowsgui so that a double-click opens the window without a console
// flashing) print its CLI output when started from cmd.exe or PowerShell.
// A GUI-subsystem process has no console and null standard handles, so
// each standard stream that is not already redirected (to a file or pipe,
// which we keep) is reopened on the parent's console. Without a parent
// console (double-click, Explorer, a scheduled task) nothing changes.
//
// Interactive cmd.exe and PowerShell do not wait for GUI-subsystem
// programs, so the prompt can come back before the output and the exit
// code is lost; batch files and `start /wait` do wait. For interactive
// shells the package ships the console twin MailFerry.com (same program,
// console subsystem): `MailFerry migrate …` finds it first through
// PATHEXT. See README "Download and install".
func attachParentConsole() {
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS = (DWORD)-1
	attach := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	if attach.Find() != nil {
		return
	}
	if r, _, _ := attach.Call(uintptr(attachParentProcess)); r == 0 {
		return // no parent console, or we already have one (console twin)
	}
	reopen := func(std uint32, name string, access uint32, f **os.File, fname string) {
		if h, err := windows.GetStdHandle(std); err == nil && h != 0 && h != windows.InvalidHandle {
			if _, err := windows.GetFileType(h); err == nil {
				return // redirected, or already a console: keep it
			}
		}
		p, err := windows.UTF16PtrFromString(name)
		if err != nil {
			return
		}
		h, err := windows.CreateFile(p, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE,
			nil, windows.OPEN_EXISTING, 0, 0)
		if err != nil {
			return
		}
		_ = windows.SetStdHandle(std, h)
		*f = os.NewFile(uintptr(h), fname)
	}
	rw := uint32(windows.GENERIC_READ | windows.GENERIC_WRITE)
	reopen(windows.STD_INPUT_HANDLE, "CONIN$", rw, &os.Stdin, "/dev/stdin")
	reopen(windows.STD_OUTPUT_HANDLE, "CONOUT$", rw, &os.Stdout, "/dev/stdout")
	reopen(windows.STD_ERROR_HANDLE, "CONOUT$", rw, &os.Stderr, "/dev/stderr")
}
