package testsrv

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of Courier's authentication library, installed normally by
// .ci/deps (courier-authdaemon, courier-authlib-userdb: they do not
// conflict with Dovecot). Its configuration and socket paths are compiled
// in (/etc/courier, /run/courier), which is why an instance runs in a
// private mount namespace with its own directories bound over them.
var (
	courierAuthdaemond = "/usr/lib/courier/courier-authlib/authdaemond"
	courierMakeUserDB  = "/usr/sbin/makeuserdb"
	unshareBinary      = "/usr/bin/unshare"
)

// Courier is a running private Courier-IMAP 5.0 (Debian courier-imap,
// unpacked into PackagesDir/courier) on 127.0.0.1, plain IMAP only:
// personal namespace "INBOX." with separator ".", no SPECIAL-USE, no
// LIST-EXTENDED (subscriptions only through LSUB), and "NO Invalid mailbox
// name." for a folder outside INBOX.
type Courier struct {
	Host      string
	Port      int
	Dir       string
	Prefix    string // always "INBOX."
	Separator string // always "."
	Users     map[string]string
	LogPath   string

	proc     *proc
	stopOnce sync.Once
}

// Addr returns "127.0.0.1:Port".
func (c *Courier) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func courierFile(rel string) string { return filepath.Join(PackagesDir, "courier", rel) }

// StartCourier starts a private Courier-IMAP for a test (users map login
// → password) and stops it when the test ends. It needs root (a private
// mount namespace); without it, or without the unpacked package, it skips
// the test (fails under CI=true).
func StartCourier(tb testing.TB, users map[string]string) *Courier {
	tb.Helper()
	requireUnpacked(tb, "Courier IMAP", courierFile("usr/sbin/couriertcpd"), courierFile("usr/lib/courier/courier/imaplogin"),
		courierFile("usr/bin/imapd"), courierFile("usr/bin/maildirmake.courier"), courierAuthdaemond, courierMakeUserDB, unshareBinary)
	if os.Geteuid() != 0 {
		msg := "testsrv: Courier IMAP needs root (its compiled-in paths are bound over in a private mount namespace)"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI=true, so Courier tests must not be skipped", msg)
		}
		tb.Skip(msg + "; skipping")
	}
	c, err := NewCourier(users)
	if err != nil {
		tb.Fatalf("testsrv: start courier: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// courierStart runs inside `unshare -m`: binds the instance's directories
// over the compiled-in ones, builds the userdb, starts authdaemond and
// then couriertcpd in the foreground. IMAP_EMPTYTRASH is empty: Courier's
// default (Trash:7) purges old Trash mail at logout, which would delete
// migrated mail.
const courierStart = `set -e
mount --bind "$MF_DIR/etc" /etc/courier
mount --bind "$MF_DIR/run" /run/courier
"$MF_MAKEUSERDB"
"$MF_AUTHDAEMOND" &
for i in $(seq 200); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.05; done
export IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
export IMAP_KEYWORDS=1 IMAP_ACL=1 IMAP_EMPTYTRASH= IMAP_USELOCKS=1 IMAP_MAILBOX_SANITY_CHECK=1
export IMAP_TRASHFOLDERNAME=Trash IMAP_MOVE_EXPUNGE_TO_TRASH=0 IMAP_UMASK=022 IMAP_ULIMITD=131072
export MAILDIRPATH=Maildir IMAP_SHAREDINDEXFILE="$MF_DIR/etc/shared/index" IMAP_IDLE_TIMEOUT=60
exec "$MF_TCPD" -address=127.0.0.1 -maxprocs=100 -maxperip=100 -nodnslookup -noidentlookup "$MF_PORT" \
  "$MF_IMAPLOGIN" "$MF_IMAPD" Maildir
`

// NewCourier starts a private Courier outside of a test. Call Stop.
func NewCourier(users map[string]string) (*Courier, error) {
	if users == nil {
		users = map[string]string{"alice": "alicepw", "bob": "bobpw"}
	}
	mu, err := mailOwner()
	if err != nil {
		return nil, err
	}
	sweepOnce.Do(sweepStaleDirs)
	dir, err := os.MkdirTemp("", instancePrefix)
	if err != nil {
		return nil, fmt.Errorf("create instance dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write owner file: %w", err)
	}
	c := &Courier{Host: "127.0.0.1", Dir: dir, Prefix: "INBOX.", Separator: ".", Users: users,
		LogPath: filepath.Join(dir, "courier.log")}
	if err := c.prepare(mu); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for i := 1; ; i++ {
		err = c.launch()
		if err == nil {
			break
		}
		c.proc.kill()
		if i == 5 || !strings.Contains(err.Error(), "in use") {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	slog.Debug("testsrv: courier started", "addr", c.Addr(), "dir", dir)
	return c, nil
}

// prepare writes authdaemonrc, the userdb source and each user's Maildir.
func (c *Courier) prepare(mu mailIdentity) error {
	for _, sub := range []string{"etc/shared", "run/authdaemon", "mail"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", sub, err)
		}
	}
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return fmt.Errorf("chmod instance dir: %w", err)
	}
	rc := "authmodulelist=\"authuserdb\"\ndaemons=4\nauthdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=\"\"\nLOGGEROPTS=\"\"\n"
	if err := os.WriteFile(filepath.Join(c.Dir, "etc", "authdaemonrc"), []byte(rc), 0o644); err != nil {
		return fmt.Errorf("write authdaemonrc: %w", err)
	}
	var db strings.Builder
	for _, u := range sortedKeys(c.Users) {
		p := c.Users[u]
		if !validLogin(u) || !validPassword(p) || strings.ContainsAny(u, "|\t /") {
			return fmt.Errorf("user %q: logins must be plain names", u)
		}
		home := filepath.Join(c.Dir, "mail", u)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return fmt.Errorf("create home of %s: %w", u, err)
		}
		if out, err := exec.Command(courierFile("usr/bin/maildirmake.courier"), filepath.Join(home, "Maildir")).CombinedOutput(); err != nil {
			return fmt.Errorf("maildirmake %s: %v: %s", u, err, out)
		}
		sum := sha1.Sum([]byte(p))
		fmt.Fprintf(&db, "%s\tuid=%d|gid=%d|home=%s|mail=%s|systempw={SHA}%s\n", u, mu.uid, mu.gid, home,
			filepath.Join(home, "Maildir"), base64.StdEncoding.EncodeToString(sum[:]))
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "etc", "userdb"), []byte(db.String()), 0o600); err != nil {
		return fmt.Errorf("write userdb: %w", err)
	}
	// Courier refuses a mailbox not owned by the user's uid and gid.
	err := filepath.Walk(filepath.Join(c.Dir, "mail"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, mu.uid, mu.gid)
	})
	if err != nil {
		return fmt.Errorf("chown mail to %s: %w", mu.name, err)
	}
	return nil
}

// launch starts the instance on a fresh port.
func (c *Courier) launch() error {
	var err error
	if c.Port, err = freePort(); err != nil {
		return err
	}
	cmd := exec.Command(unshareBinary, "-m", "--propagation", "private", "/bin/sh", "-c", courierStart)
	cmd.Env = append(os.Environ(),
		"MF_DIR="+c.Dir, "MF_PORT="+strconv.Itoa(c.Port), "MF_MAKEUSERDB="+courierMakeUserDB,
		"MF_AUTHDAEMOND="+courierAuthdaemond, "MF_TCPD="+courierFile("usr/sbin/couriertcpd"),
		"MF_IMAPLOGIN="+courierFile("usr/lib/courier/courier/imaplogin"), "MF_IMAPD="+courierFile("usr/bin/imapd"))
	c.proc, err = startProc(cmd, c.LogPath)
	if err != nil {
		return err
	}
	return c.proc.waitGreeting(c.Addr(), 20*time.Second, func() string { return tailFile(c.LogPath, 30) })
}

// Stop kills the instance (its mount namespace goes with it) and removes
// its directory.
func (c *Courier) Stop() {
	c.stopOnce.Do(func() {
		c.proc.kill()
		if err := os.RemoveAll(c.Dir); err != nil {
			slog.Warn("testsrv: remove courier dir", "dir", c.Dir, "err", err)
		}
	})
}
