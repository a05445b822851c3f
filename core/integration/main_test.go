package integration

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain quiets slog's default logger, which the EWS destination opened
// by core/connect logs to (MF_TEST_LOG=1 shows everything at debug level).
func TestMain(m *testing.M) {
	slog.SetDefault(logger())
	os.Exit(m.Run())
}
