package awake

import (
	"log/slog"
	"sync"
)

// Hold asks the operating system not to sleep while MailFerry works, for
// reason (shown by the OS tools that list inhibitors). release gives the
// hold back; calling it more than once is harmless. Hold never fails: when
// the OS does not let us hold, it logs why and returns a release that does
// nothing.
func Hold(reason string) (release func()) {
	rel, err := hold(reason)
	if err != nil {
		slog.Info("keep-awake not available; the computer may sleep during the pass", "err", err)
		return func() {}
	}
	slog.Debug("keep-awake held", "reason", reason)
	var once sync.Once
	return func() { once.Do(rel) }
}
