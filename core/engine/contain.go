package engine

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// contain runs fn and turns a panic inside it (a bug, or a protocol
// library tripping over a server's reply) into an error, so one user's
// failure never takes down the other users' migrations or the app. The
// stack goes to the log; the error says what was being done.
func contain(log *slog.Logger, op string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("internal error", "op", op, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error while %s: %v (details in the log)", op, v)
		}
	}()
	return fn()
}
