package engine

import (
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
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
// during the migration. Most of it is GC slack: with GOMEMLIMIT=100MiB the
// peak is about 120 MB (the engine holds at most (Concurrency+2)×BatchBytes
// of bodies, plus the source's read-ahead).
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
