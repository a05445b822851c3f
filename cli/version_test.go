package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/about"
)

// version prints what Help > About shows; the log folder is under the
// user config dir (XDG_CONFIG_HOME on Linux).
func TestVersion(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	db := tempDB(t)
	r := ok(t, db, "version")
	for _, want := range []string{"MailFerry " + about.Version, about.Website, "log folder: " + filepath.Join(cfg, "MailFerry", "logs"), "database:   " + db} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version lacks %q:\n%s", want, r.stdout)
		}
	}
	v := decode[map[string]string](t, ok(t, db, "version", "--json").stdout)
	if v["version"] != about.Version || v["log_dir"] != filepath.Join(cfg, "MailFerry", "logs") || v["db"] != db {
		t.Errorf("version --json: %v", v)
	}
	expect(t, mf(t, db, "", "version", "extra"), 2, "unexpected argument")
}
