package testsrv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// ExecIMAP runs `doveadm exec imap -u user` against the instance and
// returns a client speaking pre-authenticated IMAP with it over a pipe: no
// TCP, no LOGIN. The process ends when the test does.
func (d *Dovecot) ExecIMAP(tb testing.TB, user string) *imapclient.Client {
	tb.Helper()
	if _, ok := d.Users[user]; !ok {
		tb.Fatalf("testsrv: exec imap: %q is not a user of this dovecot", user)
	}
	logf, err := os.OpenFile(filepath.Join(d.Dir, "exec-imap.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatalf("testsrv: exec imap: %v", err)
	}
	clientConn, serverConn := net.Pipe()
	cmd := exec.Command(DoveadmBinary, "-c", d.ConfPath, "exec", "imap", "-u", user)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = serverConn, serverConn, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatalf("testsrv: exec imap: %v", err)
	}
	c := imapclient.New(clientConn, nil)
	tb.Cleanup(func() {
		c.Close()
		serverConn.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	if err := c.WaitGreeting(); err != nil {
		tb.Fatalf("testsrv: exec imap as %s: %v\n%s", user, err, tailFile(logf.Name(), 10))
	}
	return c
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := splitLines(string(data))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}
