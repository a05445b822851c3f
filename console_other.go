//go:build !windows

package main

// attachParentConsole is only needed by the Windows GUI-subsystem build
// (console_windows.go); elsewhere the process already has its terminal.
func attachParentConsole() {}
