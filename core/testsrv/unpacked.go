package testsrv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// PackagesDir is where .ci/deps unpacks the Debian packages of the IMAP
// servers that conflict with dovecot-imapd (cyrus-imapd, courier-imap:
// all provide imap-server, so installing one removes the others):
// PackagesDir/cyrus and PackagesDir/courier hold each one's unpacked
// files (dpkg-deb -x). MF_TESTSRV_PACKAGES overrides it.
var PackagesDir = envOr("MF_TESTSRV_PACKAGES", "/opt/mailferry-testsrv")

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// requireUnpacked skips the test (fails it under CI=true) when a server
// of the interop matrix is not unpacked, saying how to get it.
func requireUnpacked(tb testing.TB, server string, files ...string) {
	tb.Helper()
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			msg := fmt.Sprintf("testsrv: %s is not available (%s missing); `bash .ci/deps` unpacks it into %s", server, f, PackagesDir)
			if os.Getenv("CI") == "true" {
				tb.Fatalf("%s; CI=true, so %s tests must not be skipped", msg, server)
			}
			tb.Skip(msg + "; skipping")
		}
	}
}

// libDirs is the LD_LIBRARY_PATH of an unpacked package tree: its
// usr/lib/<triplet> and usr/lib directories.
func libDirs(root string) string {
	dirs, _ := filepath.Glob(filepath.Join(root, "usr", "lib", "*-linux-gnu"))
	dirs = append(dirs, filepath.Join(root, "usr", "lib"))
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		dirs = append(dirs, v)
	}
	return strings.Join(dirs, ":")
}

// proc is a server process group started by a helper.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProc starts cmd in its own process group, bound to the life of
// this process (see Dovecot.launch for why the forking thread is locked).
func startProc(cmd *exec.Cmd, logPath string) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer out.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return p, nil
}

// kill ends the whole process group.
func (p *proc) kill() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	pid := p.cmd.Process.Pid
	killGroup(pid)
	<-p.done
	waitGroupGone(pid, 2*time.Second)
}

// waitGreeting waits until addr greets with "* OK" or the process ends.
func (p *proc) waitGreeting(addr string, timeout time.Duration, logTail func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during startup (%v); log tail:\n%s", filepath.Base(p.cmd.Path), p.err, logTail())
		default:
		}
		err := greets(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not greet on %s within %s (%v); log tail:\n%s", filepath.Base(p.cmd.Path), addr, timeout, err, logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func greets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", strings.TrimSpace(line))
	}
	return nil
}

// imapAdmin logs in to addr and runs fn with the client.
func imapAdmin(ctx context.Context, addr, user, pass string, fn func(*imapclient.Client) error) error {
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}})
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, pass).Wait(); err != nil {
		return fmt.Errorf("login %s: %w", user, err)
	}
	if err := fn(c); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// createIgnoringExisting creates a mailbox; one that exists is no error.
func createIgnoringExisting(c *imapclient.Client, name string, opts *imap.CreateOptions) error {
	err := c.Create(name, opts).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) && (ie.Code == imap.ResponseCodeAlreadyExists || strings.Contains(strings.ToLower(ie.Text), "exists")) {
		return nil
	}
	return err
}
