package engine

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

var benchCorpus = corpus.Spec{Messages: 2000, Seed: 42, MaxSize: 32 << 10}

// BenchmarkFullPass migrates 2,000 messages Dovecot → Dovecot per
// iteration (the destination is emptied and the journal reset between
// iterations).
func BenchmarkFullPass(b *testing.B) {
	src, dst := dovecotServer(b, ".", "alice"), dovecotServer(b, "/", "alice")
	fs := fill(b, src, "alice", benchCorpus)
	e := newEnv(b, src, dst, project.DefaultOptions(), "alice")
	eng := e.engine()
	b.SetBytes(fs.Bytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst.dc.ResetUser(b, "alice")
		if err := e.st.Journal().ResetUser("P", "alice@example.com"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
		if err != nil || sum.Users[0].ItemsMigrated != int64(fs.Messages) {
			b.Fatalf("%v %+v", err, sum.Users)
		}
	}
	b.ReportMetric(float64(fs.Messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkNoopPass is a Full pass over 2,000 already-migrated messages:
// only UIDs/flags/headers are listed, no body is fetched.
func BenchmarkNoopPass(b *testing.B) {
	src, dst := dovecotServer(b, ".", "alice"), dovecotServer(b, "/", "alice")
	fs := fill(b, src, "alice", benchCorpus)
	e := newEnv(b, src, dst, project.DefaultOptions(), "alice")
	eng := e.engine()
	if sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{}); err != nil || sum.Users[0].ItemsMigrated != int64(fs.Messages) {
		b.Fatalf("%v %+v", err, sum.Users)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
		if err != nil || sum.Users[0].ItemsMigrated != 0 || sum.Users[0].ItemsSkipped != 0 {
			b.Fatalf("%v %+v", err, sum.Users)
		}
	}
	b.ReportMetric(float64(fs.Messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFullPassLargeMessages migrates a mailbox holding a 25 MB message
// (and ordinary messages up to 25 MB) and reports the process's peak RSS
// during the migration (no memory limit). The engine holds at most
// Options.MaxBodyBytes of bodies across all folders, or the largest
// message alone: 2026-12-04, 85-87 MB against 203-206 MB before the
// shared budget (the source's read-ahead was outside the engine's).
func BenchmarkFullPassLargeMessages(b *testing.B) {
	src, dst := dovecotServer(b, ".", "alice"), dovecotServer(b, "/", "alice")
	fs := fill(b, src, "alice", corpus.Spec{Messages: 150, Seed: 8, MaxSize: 25 << 20, Edge: true})
	e := newEnv(b, src, dst, project.DefaultOptions(), "alice")
	eng := e.engine()
	b.SetBytes(fs.Bytes)
	// Forget the corpus generator's memory: measure the migration only.
	debug.FreeOSMemory()
	resetPeakRSS()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst.dc.ResetUser(b, "alice")
		if err := e.st.Journal().ResetUser("P", "alice@example.com"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
		if err != nil || sum.Users[0].ItemsMigrated != int64(fs.Messages) {
			b.Fatalf("%v %+v", err, sum.Users)
		}
	}
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
}

// resetPeakRSS restarts VmHWM from the current RSS (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is the process's peak resident set (VmHWM) in MiB.
func peakRSSMB() float64 { return procStatusMB("VmHWM:") }

// procStatusMB reads a kB field of /proc/self/status in MiB.
func procStatusMB(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkUsersMemory migrates 1, then 2, then 4 users at once
// (Dovecot → Dovecot, each user 2,000 messages of up to 64 KiB plus the
// edge corpus with a 25 MB message) with one engine and reports, for each
// user count, the peak live heap (as of each GC) and the peak memory the
// Go runtime held from the OS during the pass, the most message bodies the
// engine's budget held, and the live heap each user beyond the first
// added. The servers run out of process, so the heap is the engine's (and
// the benchmark's own few MB, live-before). The soft memory limit is the
// CLI's (56 MiB).
//
//	go test ./core/engine/ -run '^$' -bench UsersMemory -benchtime 1x
func BenchmarkUsersMemory(b *testing.B) {
	logins := []string{"u1", "u2", "u3", "u4"}
	src, dst := dovecotServer(b, ".", logins...), dovecotServer(b, "/", logins...)
	for i, l := range logins {
		fill(b, src, l, corpus.Spec{Messages: 2000, Seed: int64(90 + i), MaxSize: 64 << 10, Edge: true, LargestSize: 25 << 20})
	}
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = len(logins)
	e := newEnv(b, src, dst, opts, logins...)
	// The CLI's soft memory limit (main.go), so that held-* is what the
	// program would hold.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(56 << 20))
	live := map[int]float64{}
	for range b.N {
		for _, n := range []int{1, 2, 4} {
			for _, l := range logins[:n] {
				dst.dc.ResetUser(b, l)
				if err := e.st.Journal().ResetUser("P", l+"@example.com"); err != nil {
					b.Fatal(err)
				}
			}
			eng := e.engine()
			runtime.GC()
			debug.FreeOSMemory()
			before, _ := kit.StartHeapPeak().Stop()
			h := kit.StartHeapPeak()
			sum, err := eng.Run(context.Background(), "P", project.PassFull, ids(logins[:n]), PassOptions{})
			peakLive, peakHeld := h.Stop()
			if err != nil {
				b.Fatal(err)
			}
			for _, us := range sum.Users {
				if us.Status != project.StatusCompleted || us.ItemsFailed != 0 {
					b.Fatalf("%d users: %+v", n, us)
				}
			}
			_, bodies := eng.mem.held()
			live[n] = peakLive
			b.ReportMetric(before, "live-before-MiB")
			b.ReportMetric(peakLive, fmt.Sprintf("live-%du-MiB", n))
			b.ReportMetric(peakHeld, fmt.Sprintf("held-%du-MiB", n))
			b.ReportMetric(float64(bodies)/(1<<20), fmt.Sprintf("bodies-%du-MiB", n))
		}
	}
	b.ReportMetric((live[4]-live[1])/3, "live-per-extra-user-MiB")
}
