//go:build !windows && !darwin && !linux

package awake

import (
	"fmt"
	"runtime"
)

func hold(string) (func(), error) {
	return nil, fmt.Errorf("not supported on %s", runtime.GOOS)
}
