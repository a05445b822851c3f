package integration

import (
	"log/slog"
	"os"
	"testing"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// TestMain quiets slog's default logger, which the EWS destination opened
// by core/connect logs to (MF_TEST_LOG=1 shows everything at debug level).
func TestMain(m *testing.M) {
	slog.SetDefault(kit.Logger())
	os.Exit(m.Run())
}
