//go:build windows

package awake

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/windows"
)

const (
	esContinuous     = 0x80000000
	esSystemRequired = 0x00000001
)

var setThreadExecutionState = windows.NewLazySystemDLL("kernel32.dll").NewProc("SetThreadExecutionState")

// hold sets the execution state on a thread of its own, which keeps it
// until release clears it (the state belongs to the calling thread).
func hold(string) (func(), error) {
	if err := setThreadExecutionState.Find(); err != nil {
		return nil, fmt.Errorf("SetThreadExecutionState: %w", err)
	}
	started := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, _, err := setThreadExecutionState.Call(esContinuous | esSystemRequired)
		if r == 0 {
			started <- fmt.Errorf("SetThreadExecutionState: %w", err)
			return
		}
		started <- nil
		<-stop
		setThreadExecutionState.Call(esContinuous)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return func() { close(stop) }, nil
}
