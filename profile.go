package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

// envHeapProfile names the file that receives a pprof heap profile taken
// at the heap's peak (live objects then, allocations until then); the
// profile at exit (all allocations of the run) goes to the same name with
// ".exit" appended, and what made up the resident set at its peak
// (rssAtPeak) to the name with ".rss" appended. Used by `.ci/bench
// memory`; unset, nothing runs.
const envHeapProfile = "MAILFERRY_HEAPPROFILE"

// startProfiles starts the heap sampler when $MAILFERRY_HEAPPROFILE is
// set and returns the function that writes the profiles (call it before
// exiting). Sampling reads runtime/metrics every 50 ms (no stop of the
// world); a profile is taken whenever live heap grew by 5 % over the last
// one, so the file shows what was live at (close to) the peak.
func startProfiles() (stop func()) {
	path := os.Getenv(envHeapProfile)
	if path == "" {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan []byte)
	go func() {
		var peak uint64
		var best []byte
		var rss rssAtPeak
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				rss.write(path + ".rss")
				finished <- best
				return
			case <-t.C:
			}
			rss.sample()
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak+peak/20 {
				var buf bytes.Buffer
				if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
					peak, best = v, buf.Bytes()
				}
			}
		}
	}()
	return func() {
		close(done)
		if best := <-finished; best != nil {
			writeProfile(path, func(f *os.File) error { _, err := f.Write(best); return err })
		}
		writeProfile(path+".exit", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	}
}

func writeProfile(path string, write func(*os.File) error) {
	f, err := os.Create(path)
	if err == nil {
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailferry: %s: %v\n", envHeapProfile, err)
	}
}

// rssAtPeak is the process's resident set at its largest (VmRSS of
// /proc/self/status, Linux only) and what it was made of then: anonymous
// memory (the Go heap, stacks, runtime) against file-backed pages (the
// binary's code and data, the memory-mapped database), beside the Go
// runtime's own classes.
type rssAtPeak struct {
	vmRSS  int64 // kB
	fields string
}

var rssMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/total:bytes",
}

func (r *rssAtPeak) sample() {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	var b strings.Builder
	var rss int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		name, val, _ := strings.Cut(line, ":")
		switch name {
		case "VmRSS":
			fmt.Sscanf(strings.TrimSpace(val), "%d", &rss)
		case "RssAnon", "RssFile", "RssShmem":
		default:
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", name, strings.Join(strings.Fields(val), " "))
	}
	if rss <= r.vmRSS {
		return
	}
	samples := make([]metrics.Sample, len(rssMetrics))
	for i, n := range rssMetrics {
		samples[i].Name = n
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			fmt.Fprintf(&b, "go%s %d kB\n", strings.TrimSuffix(s.Name, ":bytes"), s.Value.Uint64()>>10)
		}
	}
	r.vmRSS, r.fields = rss, b.String()
}

func (r *rssAtPeak) write(path string) {
	if r.fields == "" {
		return
	}
	writeProfile(path, func(f *os.File) error { _, err := f.WriteString(r.fields); return err })
}
