package testsrv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/selfsigned"
)

// Paths of the Dovecot binaries (Debian/Ubuntu package dovecot-imapd).
var (
	DovecotBinary = "/usr/sbin/dovecot"
	DoveadmBinary = "/usr/bin/doveadm"
	dovecotIMAP   = "/usr/lib/dovecot/imap"
)

// MailUser is the system user that owns the mail stores when the tests run
// as root (Dovecot refuses to run mail processes as root).
const MailUser = "mfdovecot"

// ErrDovecotMissing is returned by NewDovecot when Dovecot is not installed.
var ErrDovecotMissing = errors.New("dovecot is not installed (apt-get install dovecot-imapd)")

// DovecotOptions configure a private Dovecot instance.
type DovecotOptions struct {
	// Users maps login → password; default alice/alicepw and bob/bobpw.
	Users map[string]string
	// MasterUser and MasterPass, if set, add a master user: log in as
	// "user*MasterUser" with MasterPass to act as that user.
	MasterUser, MasterPass string
	// Separator is the hierarchy separator: "." (Maildir++, the default) or
	// "/" (maildir with LAYOUT=fs).
	Separator string
	// Prefix is the personal namespace prefix, e.g. "INBOX." (cPanel);
	// default "" (none).
	Prefix string
	// SpecialUse creates these folders for every user (auto = subscribe)
	// with the given SPECIAL-USE attribute, name → attribute, e.g.
	// "Sent Messages" → `\Sent`.
	SpecialUse map[string]string
	// Public adds a public (shared) namespace "Public<sep>" that every
	// user can read and write.
	Public bool
	// NoNamespace hides NAMESPACE (and LIST-EXTENDED, SPECIAL-USE,
	// LIST-STATUS) from the capabilities, as old servers answer.
	NoNamespace bool
}

// CPanelSpecialUse are the special folders of a cPanel-style Dovecot
// (Apple Mail / Outlook style names, SPECIAL-USE marked).
var CPanelSpecialUse = map[string]string{
	"Sent Messages":    `\Sent`,
	"Deleted Messages": `\Trash`,
	"Junk":             `\Junk`,
	"Drafts":           `\Drafts`,
	"Archive":          `\Archive`,
}

// CPanelOptions are the options of a cPanel-style Dovecot: personal
// namespace "INBOX." with separator ".", special folders by SPECIAL-USE.
func CPanelOptions() DovecotOptions {
	return DovecotOptions{Separator: ".", Prefix: "INBOX.", SpecialUse: CPanelSpecialUse}
}

// Dovecot is a running private Dovecot 2.3 instance on 127.0.0.1.
type Dovecot struct {
	Host        string // always "127.0.0.1"
	Port        int    // plain IMAP with STARTTLS
	TLSPort     int    // implicit TLS
	CertPEM     []byte // the server's self-signed certificate (PEM)
	Fingerprint string // SHA-256 of the leaf certificate DER, lower-case hex
	Dir         string // instance directory: config, logs, mail stores
	Separator   string // "." or "/"
	Prefix      string // personal namespace prefix
	Users       map[string]string
	MasterUser  string
	MasterPass  string
	ConfPath    string // dovecot.conf of this instance
	LogPath     string // Dovecot's log file

	opts     DovecotOptions
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Addr returns "127.0.0.1:Port" (plain / STARTTLS).
func (d *Dovecot) Addr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.Port)) }

// TLSAddr returns "127.0.0.1:TLSPort" (implicit TLS).
func (d *Dovecot) TLSAddr() string { return net.JoinHostPort(d.Host, strconv.Itoa(d.TLSPort)) }

// DovecotAvailable reports whether Dovecot with its IMAP service is
// installed.
func DovecotAvailable() bool {
	for _, p := range []string{DovecotBinary, DoveadmBinary, dovecotIMAP} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// StartDovecot starts a private Dovecot for a test and stops it when the
// test ends. Without Dovecot installed it skips the test, except when the
// environment has CI=true: then the test fails.
func StartDovecot(tb testing.TB, opts DovecotOptions) *Dovecot {
	tb.Helper()
	if !DovecotAvailable() {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testsrv: %v; CI=true, so Dovecot tests must not be skipped", ErrDovecotMissing)
		}
		tb.Skipf("testsrv: %v; skipping Dovecot test", ErrDovecotMissing)
	}
	d, err := NewDovecot(opts)
	if err != nil {
		tb.Fatalf("testsrv: start dovecot: %v", err)
	}
	tb.Cleanup(d.Stop)
	return d
}

// NewDovecot starts a private Dovecot outside of a test. The caller must
// call Stop.
func NewDovecot(opts DovecotOptions) (*Dovecot, error) {
	if !DovecotAvailable() {
		return nil, ErrDovecotMissing
	}
	if opts.Separator == "" {
		opts.Separator = "."
	}
	if opts.Separator != "." && opts.Separator != "/" {
		return nil, fmt.Errorf("separator %q: want \".\" or \"/\"", opts.Separator)
	}
	if opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, opts.Separator) {
		return nil, fmt.Errorf("prefix %q must end with the separator %q", opts.Prefix, opts.Separator)
	}
	if opts.Users == nil {
		opts.Users = map[string]string{"alice": "alicepw", "bob": "bobpw"}
	}
	users := make(map[string]string, len(opts.Users))
	for u, p := range opts.Users {
		users[u] = p
	}
	opts.Users = users
	if (opts.MasterUser == "") != (opts.MasterPass == "") {
		return nil, errors.New("master user and master password must be set together")
	}
	for u, p := range opts.Users {
		if !validLogin(u) || !validPassword(p) {
			return nil, fmt.Errorf("user %q: %s", u, passwdRule)
		}
	}
	if opts.MasterUser != "" && (!validLogin(opts.MasterUser) || !validPassword(opts.MasterPass)) {
		return nil, fmt.Errorf("master user %q: %s", opts.MasterUser, passwdRule)
	}
	mu, err := mailOwner()
	if err != nil {
		return nil, err
	}
	cert, err := selfsigned.New("MailFerry test server")
	if err != nil {
		return nil, err
	}
	// A short directory: Dovecot's unix sockets live under base_dir and
	// socket paths are limited to ~107 bytes.
	sweepOnce.Do(sweepStaleDirs)
	dir, err := os.MkdirTemp("", instancePrefix)
	if err != nil {
		return nil, fmt.Errorf("create instance dir: %w", err)
	}
	// Records who owns the directory, so a later run can remove it if this
	// process is killed before Stop.
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write owner file: %w", err)
	}
	d := &Dovecot{
		Host:        "127.0.0.1",
		CertPEM:     cert.CertPEM,
		Fingerprint: cert.Fingerprint,
		Dir:         dir,
		Separator:   opts.Separator,
		Prefix:      opts.Prefix,
		Users:       opts.Users,
		opts:        opts,
		MasterUser:  opts.MasterUser,
		MasterPass:  opts.MasterPass,
		ConfPath:    filepath.Join(dir, "dovecot.conf"),
		LogPath:     filepath.Join(dir, "dovecot.log"),
	}
	if err := d.prepare(cert, mu); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	const attempts = 5
	for i := 1; ; i++ {
		err = d.launch(mu)
		if err == nil {
			slog.Debug("testsrv: dovecot started", "addr", d.Addr(), "tls", d.TLSAddr(), "dir", dir)
			return d, nil
		}
		d.kill()
		if !errors.Is(err, errPortInUse) || i == attempts {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

var errPortInUse = errors.New("port already in use")

const passwdRule = "logins must not contain ':' or '*' (the master user separator), passwords not ':'; neither may be empty or contain newlines"

func validLogin(s string) bool    { return s != "" && !strings.ContainsAny(s, ":*\r\n") }
func validPassword(s string) bool { return s != "" && !strings.ContainsAny(s, ":\r\n") }

// mailIdentity is the uid/gid that owns mail stores and, when not root,
// runs every Dovecot process.
type mailIdentity struct {
	name     string
	group    string
	uid, gid int
	root     bool
}

var (
	mailOwnerOnce sync.Once
	mailOwnerVal  mailIdentity
	mailOwnerErr  error
)

func mailOwner() (mailIdentity, error) {
	mailOwnerOnce.Do(func() { mailOwnerVal, mailOwnerErr = findMailOwner() })
	return mailOwnerVal, mailOwnerErr
}

func findMailOwner() (mailIdentity, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return mailIdentity{}, fmt.Errorf("current user: %w", err)
		}
		g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
		if err != nil {
			return mailIdentity{}, fmt.Errorf("current group: %w", err)
		}
		return mailIdentity{name: u.Username, group: g.Name, uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	lookup := func() (mailIdentity, error) {
		u, err := user.Lookup(MailUser)
		if err != nil {
			return mailIdentity{}, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return mailIdentity{name: MailUser, uid: uid, gid: gid, root: true}, nil
	}
	if id, err := lookup(); err == nil {
		return id, nil
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MailUser).CombinedOutput()
	if id, lerr := lookup(); lerr == nil {
		return id, nil // created now, or by a concurrent test process
	}
	return mailIdentity{}, fmt.Errorf("create system user %s for the mail stores: %v: %s", MailUser, err, bytes.TrimSpace(out))
}

const dovecotConf = `# generated by MailFerry testsrv
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
instance_name = {{.Instance}}
protocols = imap
listen = 127.0.0.1
log_path = {{.Dir}}/dovecot.log
info_log_path = {{.Dir}}/dovecot.log
auth_verbose = yes
{{- if .Root}}
default_login_user = dovenull
default_internal_user = dovecot
{{- else}}
default_login_user = {{.MailUser}}
default_internal_user = {{.MailUser}}
default_internal_group = {{.MailGroup}}
{{- end}}

ssl = yes
ssl_cert = <{{.Dir}}/cert.pem
ssl_key = <{{.Dir}}/key.pem
{{- if .DH}}
ssl_dh = <{{.DH}}
{{- end}}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
mail_fsync = never
# Tests fail logins on purpose: no failure delay (and no per-IP auth
# penalty, see service anvil below).
auth_failure_delay = 0

{{- if .Master}}
passdb {
  driver = passwd-file
  args = scheme=PLAIN {{.Dir}}/master-users
  master = yes
  pass = yes
}
{{- end}}
passdb {
  driver = passwd-file
  args = scheme=PLAIN {{.Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{.UID}} gid={{.GID}} home={{.Dir}}/mail/%u
}
first_valid_uid = {{.UID}}
first_valid_gid = {{.GID}}

mail_location = {{.Location}}
namespace inbox {
  inbox = yes
  prefix = {{.Prefix}}
  separator = {{.Separator}}
{{- range $name, $attr := .SpecialUse}}
  mailbox "{{$name}}" {
    special_use = {{$attr}}
    auto = subscribe
  }
{{- end}}
}
{{- if .Public}}
namespace public {
  type = public
  separator = {{.Separator}}
  prefix = Public{{.Separator}}
  location = {{.PublicLocation}}
  subscriptions = no
  list = yes
}
{{- end}}
{{- if .NoNamespace}}
imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN UIDPLUS
{{- end}}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{.Port}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{.TLSPort}}
    ssl = yes
  }
  process_limit = 200
{{- if not .Root}}
  chroot =
{{- end}}
}
service imap {
  process_limit = 200
}
{{- if not .Root}}
service auth {
  user = {{.MailUser}}
}
service auth-worker {
  user = {{.MailUser}}
}
{{- end}}
service anvil {
  # No auth penalty: the auth process cannot open the penalty socket.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
{{- if not .Root}}
  chroot =
{{- end}}
}
protocol imap {
  mail_max_userip_connections = 50
}
`

var dovecotTmpl = template.Must(template.New("dovecot.conf").Parse(dovecotConf))

// prepare writes the certificate, password files and mail directory.
func (d *Dovecot) prepare(cert *selfsigned.Cert, mu mailIdentity) error {
	for _, sub := range []string{"run", "state", "mail", "public"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", sub, err)
		}
	}
	// Dovecot's unprivileged processes must traverse the instance directory.
	if err := os.Chmod(d.Dir, 0o755); err != nil {
		return fmt.Errorf("chmod instance dir: %w", err)
	}
	if mu.root {
		for _, sub := range []string{"mail", "public"} {
			if err := os.Chown(filepath.Join(d.Dir, sub), mu.uid, mu.gid); err != nil {
				return fmt.Errorf("chown %s dir to %s: %w", sub, mu.name, err)
			}
		}
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"cert.pem", cert.CertPEM, 0o644},
		{"key.pem", cert.KeyPEM, 0o600},
		{"passwd", passwdFile(d.Users), 0o644},
	}
	if d.MasterUser != "" {
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{"master-users", passwdFile(map[string]string{d.MasterUser: d.MasterPass}), 0o644})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(d.Dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}

func passwdFile(users map[string]string) []byte {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, u := range names {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::\n", u, users[u])
	}
	return b.Bytes()
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before Dovecot binds it; launch retries in that case.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch writes the config with fresh ports, starts the master in the
// foreground and waits until both ports greet.
func (d *Dovecot) launch(mu mailIdentity) error {
	var err error
	if d.Port, err = freePort(); err != nil {
		return err
	}
	for d.TLSPort == 0 || d.TLSPort == d.Port {
		if d.TLSPort, err = freePort(); err != nil {
			return err
		}
	}
	location := "maildir:~/Maildir"
	if d.Separator == "/" {
		location = "maildir:~/Maildir:LAYOUT=fs"
	}
	dh := "/usr/share/dovecot/dh.pem"
	if _, err := os.Stat(dh); err != nil {
		dh = ""
	}
	var conf bytes.Buffer
	err = dovecotTmpl.Execute(&conf, map[string]any{
		"Dir":            d.Dir,
		"Instance":       "mf-" + filepath.Base(d.Dir),
		"Root":           mu.root,
		"MailUser":       mu.name,
		"MailGroup":      mu.group,
		"UID":            mu.uid,
		"GID":            mu.gid,
		"DH":             dh,
		"Master":         d.MasterUser != "",
		"Location":       location,
		"Separator":      d.Separator,
		"Prefix":         d.Prefix,
		"SpecialUse":     d.opts.SpecialUse,
		"Public":         d.opts.Public,
		"PublicLocation": strings.Replace(location, "~/Maildir", d.Dir+"/public", 1),
		"NoNamespace":    d.opts.NoNamespace,
		"Port":           d.Port,
		"TLSPort":        d.TLSPort,
	})
	if err != nil {
		return fmt.Errorf("render dovecot.conf: %w", err)
	}
	if err := os.WriteFile(d.ConfPath, conf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write dovecot.conf: %w", err)
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "master.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open master log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(DovecotBinary, "-F", "-c", d.ConfPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	// The kernel sends Pdeathsig when the *thread* that forked the child
	// exits, and Go may retire threads. Fork from a goroutine locked to its
	// thread that waits for the child: the thread lives exactly as long as
	// Dovecot does.
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.waitErr = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", DovecotBinary, err)
	}
	d.cmd = cmd
	d.done = done

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-d.done:
			tail := d.LogTail(30)
			if strings.Contains(tail, "in use") {
				return fmt.Errorf("dovecot on ports %d/%d: %w\n%s", d.Port, d.TLSPort, errPortInUse, tail)
			}
			return fmt.Errorf("dovecot exited during startup (%v); log tail:\n%s", d.waitErr, tail)
		default:
		}
		errPlain := d.greets(false)
		errTLS := d.greets(true)
		if errPlain == nil && errTLS == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dovecot did not greet within 15s (plain: %v, tls: %v); log tail:\n%s",
				errPlain, errTLS, d.LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// greets dials a port and checks for the "* OK" greeting; on the TLS port
// it also checks the certificate is ours.
func (d *Dovecot) greets(implicitTLS bool) error {
	c, err := net.DialTimeout("tcp", d.Addr(), time.Second)
	if implicitTLS {
		c, err = net.DialTimeout("tcp", d.TLSAddr(), time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if implicitTLS {
		tc := tls.Client(c, &tls.Config{
			InsecureSkipVerify: true, // checked by fingerprint below
			VerifyConnection: func(cs tls.ConnectionState) error {
				sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if hex.EncodeToString(sum[:]) != d.Fingerprint {
					return errors.New("certificate is not this instance's")
				}
				return nil
			},
		})
		if err := tc.Handshake(); err != nil {
			return err
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
	}
	return nil
}

// LogTail returns the last n lines of Dovecot's log and of the master's
// own output.
func (d *Dovecot) LogTail(n int) string {
	var b strings.Builder
	for _, p := range []string{d.LogPath, filepath.Join(d.Dir, "master.out")} {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := splitLines(string(data))
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(p), strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(no log output)"
	}
	return b.String()
}

// Stop stops the instance and all its processes and removes its directory.
// It is safe to call more than once; StartDovecot registers it with
// tb.Cleanup.
func (d *Dovecot) Stop() {
	d.stopOnce.Do(func() {
		d.kill()
		if err := os.RemoveAll(d.Dir); err != nil {
			slog.Warn("testsrv: remove dovecot dir", "dir", d.Dir, "err", err)
		}
	})
}

// kill ends the instance: SIGKILL to its whole process group. A graceful
// stop buys nothing for a throw-away test server (its directory is removed
// next) and Dovecot's children outlive a terminated master for seconds.
func (d *Dovecot) kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	pid := d.cmd.Process.Pid
	killGroup(pid)
	terminate(d.cmd.Process) // non-Unix fallback; harmless after SIGKILL
	<-d.done
	waitGroupGone(pid, 2*time.Second)
	d.cmd = nil
}

// ResetUser empties user's mail store: their sessions are kicked and their
// home directory removed; Dovecot recreates an empty INBOX on next login.
func (d *Dovecot) ResetUser(tb testing.TB, user string) {
	tb.Helper()
	if err := d.Reset(user); err != nil {
		tb.Fatalf("testsrv: %v", err)
	}
}

// Reset is ResetUser for use outside tests.
func (d *Dovecot) Reset(user string) error {
	if _, ok := d.Users[user]; !ok {
		return fmt.Errorf("reset %q: not a user of this dovecot", user)
	}
	// Kicking fails harmlessly when the user has no session.
	_ = exec.Command(DoveadmBinary, "-c", d.ConfPath, "kick", user).Run()
	if err := os.RemoveAll(filepath.Join(d.Dir, "mail", user)); err != nil {
		return fmt.Errorf("reset %q: %w", user, err)
	}
	return nil
}

// Fill appends the corpus of spec to user's mailbox (see FillMailbox).
func (d *Dovecot) Fill(ctx context.Context, user string, spec corpus.Spec) (corpus.FillStats, error) {
	pass, ok := d.Users[user]
	if !ok {
		return corpus.FillStats{}, fmt.Errorf("dovecot: no user %q", user)
	}
	return corpus.FillMailboxStats(ctx, d.Addr(), user, pass, spec)
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

const (
	instancePrefix = "mfdc-"
	ownerFile      = "owner.pid"
)

var sweepOnce sync.Once

// sweepStaleDirs removes instance directories left behind by test
// processes that were killed (their Dovecot died with them, see
// sysProcAttr). A directory is removed only when the process recorded in
// its owner file no longer exists.
func sweepStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), instancePrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			slog.Debug("testsrv: removed stale dovecot dir", "dir", dir, "owner", pid)
		}
	}
}
