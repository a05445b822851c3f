package cli

import (
	"fmt"
	"os"

	"github.com/mailferry/mailferry/core/about"
	"github.com/mailferry/mailferry/core/store"
)

const versionUsage = `  mailferry version [--json]   version, web site, log folder and database file
`

func init() {
	register("version", versionUsage, versionCmd)
	verbOrder = append(verbOrder, "version")
}

// versionView is version --json.
type versionView struct {
	Version string `json:"version"`
	Website string `json:"website"`
	LogDir  string `json:"log_dir"`
	DB      string `json:"db"`
}

// versionCmd prints what the GUI's Help > About shows (core/about): the
// version, the web site, the log folder and the database file. It opens
// nothing.
func versionCmd(e *env, args []string) error {
	fs := e.newFlags("version", true)
	if _, err := parse(fs, args, versionUsage, 0, 0); err != nil {
		return err
	}
	v := versionView{Version: about.Version, Website: about.Website}
	if dir, err := about.LogDir(); err == nil {
		v.LogDir = dir
	}
	v.DB = e.dbPath
	if v.DB == "" {
		v.DB = os.Getenv(store.EnvDB)
	}
	if v.DB == "" {
		v.DB, _ = store.DefaultPath()
	}
	if e.json {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "MailFerry %s\n%s\n%s\nlog folder: %s\ndatabase:   %s\n", v.Version, v.Website, about.Terms, dash(v.LogDir), dash(v.DB))
	return nil
}
