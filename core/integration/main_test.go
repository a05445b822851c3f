package integration

import (
	"log/slog"
	"os"
	"testing"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// TestMain quiets slog's default logger, which the EWS destination opened
// by core/connect logs to (MF_TEST_LOG=1 shows everything at debug level).
// With $MF_BENCH_EMULATOR set the binary serves an emulator instead
// (BenchmarkDestMemory).
func TestMain(m *testing.M) {
	if kind := os.Getenv(envEmulator); kind != "" {
		emulatorChild(kind, os.Getenv(envEmulator+"_LOGIN"))
	}
	slog.SetDefault(kit.Logger())
	os.Exit(m.Run())
}
