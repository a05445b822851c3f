package kit

import (
	"runtime/metrics"
	"time"
)

// HeapPeak samples the Go heap every 2 ms until Stop: the most live heap
// (as of each garbage collection, /gc/heap/live) and the most memory the
// runtime held from the OS (mapped, not released: what counts in the
// resident set besides the binary and mapped files). For benchmarks:
// numbers of the whole process, so only what runs in it counts.
type HeapPeak struct {
	stop chan struct{}
	done chan [2]uint64
}

// StartHeapPeak starts sampling.
func StartHeapPeak() *HeapPeak {
	h := &HeapPeak{stop: make(chan struct{}), done: make(chan [2]uint64, 1)}
	go func() {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		var peak [2]uint64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak[0] = max(peak[0], s[0].Value.Uint64())
			peak[1] = max(peak[1], s[1].Value.Uint64()-s[2].Value.Uint64())
			select {
			case <-h.stop:
				h.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peaks in MiB: live heap, and memory
// held from the OS.
func (h *HeapPeak) Stop() (liveMiB, heldMiB float64) {
	close(h.stop)
	p := <-h.done
	return float64(p[0]) / (1 << 20), float64(p[1]) / (1 << 20)
}
