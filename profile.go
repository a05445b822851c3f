package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// envHeapProfile names the file that receives a pprof heap profile taken
// at the heap's peak (live objects then, allocations until then); the
// profile at exit (all allocations of the run) goes to the same name with
// ".exit" appended. Used by `.ci/bench memory`; unset, nothing runs.
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
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				finished <- best
				return
			case <-t.C:
			}
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
