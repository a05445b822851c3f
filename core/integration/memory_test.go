package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/graphemu"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// envEmulator makes the test binary serve an emulator instead of running
// tests (emulatorChild): BenchmarkDestMemory runs the emulators in a
// process of their own, so that the mailboxes they store are not counted
// in the heap it measures.
const envEmulator = "MF_BENCH_EMULATOR"

// emulatorAddr is what the emulator child prints on its first line.
type emulatorAddr struct {
	URL, Fingerprint, Tenant string
}

// emulatorChild serves the emulator kind ("ews" or "graph") with the
// mailbox of login until its standard input closes.
func emulatorChild(kind, login string) {
	var a emulatorAddr
	var closer io.Closer
	switch kind {
	case "ews":
		s, err := ewsemu.New(ewsemu.Options{
			Users:     []ewsemu.User{{Name: "admin", Password: adminPW, Mailbox: adminUser, FullAccess: []string{destEmail(login)}}},
			Mailboxes: []string{destEmail(login)}, Validator: ewssrv.NoValidation,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		a, closer = emulatorAddr{URL: s.EWSURL(), Fingerprint: s.CertFingerprint()}, s
	case "graph":
		s, err := graphemu.New(graphemu.Options{
			Apps:      []graphemu.App{{ClientID: "app", Secret: "app-s3cret", Roles: []string{graphemu.PermMailReadWrite, graphemu.PermMailAdvancedReadWrite}}},
			Mailboxes: []string{destEmail(login)},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		a, closer = emulatorAddr{URL: s.URL(), Fingerprint: tlstrust.Fingerprint(s.Certificate()), Tenant: s.Tenant()}, s
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown emulator %q\n", envEmulator, kind)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(a); err != nil {
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	closer.Close()
	os.Exit(0)
}

// startEmulatorProcess runs the emulator kind in a child process for the
// benchmark's duration and returns its address.
func startEmulatorProcess(b *testing.B, kind, login string) emulatorAddr {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envEmulator+"="+kind, envEmulator+"_LOGIN="+login)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	var a emulatorAddr
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&a); err != nil {
		b.Fatalf("%s emulator: %v", kind, err)
	}
	return a
}

// BenchmarkDestMemory migrates one user (2,000 messages of up to 64 KiB
// plus the edge corpus with a 25 MB message) from Dovecot into the EWS
// and the Graph emulator, each running in a process of its own, and
// reports the engine's peak live heap (as of each GC) and the peak memory
// the Go runtime held from the OS, at the CLI's soft memory limit
// (56 MiB). live-before is the benchmark process's own heap before the
// pass.
//
//	go test ./core/integration/ -run '^$' -bench DestMemory -benchtime 1x
func BenchmarkDestMemory(b *testing.B) {
	const login = "mem"
	dc := startDovecot(b, func(int) corpus.Spec {
		return corpus.Spec{Messages: 2000, Seed: 95, MaxSize: 64 << 10, Edge: true, LargestSize: 25 << 20}
	}, login)
	n := sourceCount(b, dc, login)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(56 << 20))
	for _, kind := range []string{"ews", "graph"} {
		b.Run("dest="+kind, func(b *testing.B) {
			for range b.N {
				a := startEmulatorProcess(b, kind, login)
				r := &rig{tb: b, dc: dc, opts: project.DefaultOptions(), logins: []string{login}, access: project.AccessDelegation}
				r.dest = func(st *store.Store) project.Endpoint {
					if kind == "ews" {
						return project.Endpoint{Type: project.TypeEWS, URL: a.URL, TrustFingerprint: a.Fingerprint,
							AdminUser: "admin", PasswordRef: kit.Seal(b, st, adminPW), Access: project.AccessDelegation}
					}
					return project.Endpoint{Type: project.TypeGraph, Tenant: a.Tenant, ClientID: "app", SecretRef: kit.Seal(b, st, "app-s3cret"),
						GraphURL: a.URL, Authority: a.URL, TrustFingerprint: a.Fingerprint}
				}
				r.create()
				runtime.GC()
				debug.FreeOSMemory()
				before, _ := kit.StartHeapPeak().Stop()
				h := kit.StartHeapPeak()
				us := r.run(project.PassFull)[0]
				live, held := h.Stop()
				if us.Status != project.StatusCompleted || us.ItemsMigrated != int64(n) {
					b.Fatalf("full into %s: %+v, want %d migrated", kind, us, n)
				}
				b.ReportMetric(before, "live-before-MiB")
				b.ReportMetric(live, "live-MiB")
				b.ReportMetric(held, "held-MiB")
			}
		})
	}
}
