//go:build darwin

package awake

import (
	"os"
	"strconv"
)

// hold runs `caffeinate -i -w <pid>`: an idle-sleep assertion that ends
// when we kill it or when this process dies.
func hold(string) (func(), error) {
	cmd, in, err := startChild("caffeinate", "-i", "-w", strconv.Itoa(os.Getpid()))
	if err != nil {
		return nil, err
	}
	return func() {
		in.Close()
		_ = cmd.Process.Kill()
	}, nil
}
