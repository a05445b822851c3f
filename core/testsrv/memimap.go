package testsrv

import (
	"testing"

	"github.com/mailferry/mailferry/core/memimap"
)

// StartMemIMAP starts an in-memory IMAP server (core/memimap) for a test
// and closes it when the test ends.
func StartMemIMAP(tb testing.TB, users map[string]string) *memimap.Server {
	tb.Helper()
	m, err := memimap.New(users)
	if err != nil {
		tb.Fatalf("testsrv: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
