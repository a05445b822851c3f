package ewsemu

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ThrottleKind is how a throttled request is answered.
type ThrottleKind int

const (
	// ThrottleNone turns throttling off.
	ThrottleNone ThrottleKind = iota
	// ThrottleServerBusyFault answers HTTP 500 with a soap:Fault
	// a:ErrorServerBusy carrying BackOffMilliseconds in t:MessageXml.
	ThrottleServerBusyFault
	// ThrottleServerBusyItems answers HTTP 200 with every response message
	// of the operation set to ErrorServerBusy (BackOffMilliseconds in
	// m:MessageXml); nothing is done.
	ThrottleServerBusyItems
	// ThrottleHTTP503 answers 503 Service Unavailable with Retry-After.
	ThrottleHTTP503
	// ThrottleHTTP429 answers 429 Too Many Requests with Retry-After.
	ThrottleHTTP429
	// ThrottleHTTP500 answers a bare 500 Internal Server Error (no SOAP).
	ThrottleHTTP500
)

// Throttle describes which EWS requests are throttled and how.
type Throttle struct {
	Kind ThrottleKind
	// Every throttles every Nth matching request (1 or 0: every request).
	Every int
	// Count stops after this many throttled answers (0: no limit).
	Count int
	// BackOff is sent as BackOffMilliseconds and, rounded up to seconds, as
	// Retry-After. Zero means no BackOffMilliseconds / Retry-After at all.
	BackOff time.Duration
	// Operations limits throttling to these operations (e.g. "CreateItem");
	// empty means all.
	Operations []string
}

// Cut makes the server drop connections without answering.
type Cut struct {
	// Every drops every Nth EWS request (0: never).
	Every int
	// AfterProcessing drops the connection after the operation ran (items
	// were created, the response is lost) instead of before.
	AfterProcessing bool
	// Count stops after this many cuts (0: no limit).
	Count int
}

type faultState struct {
	mu          sync.Mutex
	throttle    Throttle
	tSeen       int
	tDone       int
	cut         Cut
	cSeen       int
	cDone       int
	lat         atomic.Int64
	maxItemSize atomic.Int64
	maxConc     int
	inFlight    map[string]int
}

// SetMaxConcurrency limits the EWS requests one account may have in flight
// (EWSMaxConcurrency: 10 on Exchange 2010, 27 on 2013+ and Exchange
// Online). A request over the limit gets a soap:Fault
// ErrorExceededConnectionCount. 0 (the default) means no limit.
func (s *Server) SetMaxConcurrency(n int) {
	s.faults.mu.Lock()
	s.faults.maxConc = n
	s.faults.mu.Unlock()
}

// admit counts a request of account in flight; release undoes it.
func (f *faultState) admit(account string) (release func(), ok bool) {
	key := strings.ToLower(account)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inFlight == nil {
		f.inFlight = map[string]int{}
	}
	if f.maxConc > 0 && f.inFlight[key] >= f.maxConc {
		return nil, false
	}
	f.inFlight[key]++
	return func() {
		f.mu.Lock()
		f.inFlight[key]--
		if f.inFlight[key] <= 0 {
			delete(f.inFlight, key)
		}
		f.mu.Unlock()
	}, true
}

// SetThrottle replaces the throttling rule and resets its counters.
func (s *Server) SetThrottle(t Throttle) {
	s.faults.mu.Lock()
	s.faults.throttle, s.faults.tSeen, s.faults.tDone = t, 0, 0
	s.faults.mu.Unlock()
}

// SetCut replaces the connection-cutting rule and resets its counters.
func (s *Server) SetCut(c Cut) {
	s.faults.mu.Lock()
	s.faults.cut, s.faults.cSeen, s.faults.cDone = c, 0, 0
	s.faults.mu.Unlock()
}

// SetLatency delays every EWS request by d.
func (s *Server) SetLatency(d time.Duration) { s.faults.lat.Store(int64(d)) }

// SetMaxItemSize sets the per-item MIME size limit (bytes, after base64
// decoding); larger items get ErrorMessageSizeExceeded.
func (s *Server) SetMaxItemSize(n int64) { s.faults.maxItemSize.Store(n) }

// MaxItemSize is the current per-item limit.
func (s *Server) MaxItemSize() int64 { return s.faults.maxItemSize.Load() }

func (f *faultState) latency() time.Duration { return time.Duration(f.lat.Load()) }

func (f *faultState) throttleNow(op string) (Throttle, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.throttle
	if t.Kind == ThrottleNone {
		return t, false
	}
	if len(t.Operations) > 0 {
		match := false
		for _, o := range t.Operations {
			if strings.EqualFold(o, op) {
				match = true
			}
		}
		if !match {
			return t, false
		}
	}
	if t.Count > 0 && f.tDone >= t.Count {
		return t, false
	}
	f.tSeen++
	if t.Every > 1 && f.tSeen%t.Every != 0 {
		return t, false
	}
	f.tDone++
	return t, true
}

func (f *faultState) cutNow(after bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cut
	if c.Every <= 0 || c.AfterProcessing != after {
		return false
	}
	if c.Count > 0 && f.cDone >= c.Count {
		return false
	}
	f.cSeen++
	if f.cSeen%c.Every != 0 {
		return false
	}
	f.cDone++
	return true
}

const busyText = "The server cannot service this request right now. Try again later."

func backOffXML(d time.Duration, prefix string) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf(`<%sValue Name="BackOffMilliseconds">%d</%sValue>`, prefix, d.Milliseconds(), prefix)
}

// writeThrottle answers a throttled request. It returns false when the
// request should be processed normally after all (per-item busy for an
// operation the emulator does not implement).
func (s *Server) writeThrottle(w http.ResponseWriter, t Throttle, env *envelope, op string) bool {
	retry := func() {
		if t.BackOff > 0 {
			secs := int((t.BackOff + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	switch t.Kind {
	case ThrottleServerBusyFault:
		writeFault(w, &soapFault{Code: "ErrorServerBusy", Message: busyText, MessageXML: backOffXML(t.BackOff, "t:")})
	case ThrottleHTTP503:
		retry()
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	case ThrottleHTTP429:
		retry()
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
	case ThrottleHTTP500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case ThrottleServerBusyItems:
		n := requestedCount(env)
		if n == 0 {
			return false
		}
		var b bytes.Buffer
		openResponse(&b, op)
		m := respMsg{Class: "Error", Code: "ErrorServerBusy", Text: busyText, MessageXML: backOffXML(t.BackOff, "t:")}
		empty := map[string]string{"CreateItem": "<m:Items/>", "GetItem": "<m:Items/>",
			"CreateFolder": "<m:Folders/>", "GetFolder": "<m:Folders/>"}[op]
		for i := 0; i < n; i++ {
			m.open(&b, op+"ResponseMessage")
			fmt.Fprintf(&b, "%s</m:%sResponseMessage>", empty, op)
		}
		closeResponse(&b, op)
		writeEnvelope(w, http.StatusOK, b.Bytes())
	default:
		return false
	}
	return true
}

// requestedCount is how many response messages an operation returns.
func requestedCount(env *envelope) int {
	b := env.Body
	switch {
	case b.CreateItem != nil:
		return len(b.CreateItem.Items.Messages)
	case b.CreateFolder != nil:
		return len(b.CreateFolder.Folders.Folders)
	case b.GetItem != nil:
		return len(b.GetItem.ItemIDs)
	case b.GetFolder != nil:
		return len(b.GetFolder.FolderIDs)
	case b.FindItem != nil:
		return len(b.FindItem.ParentFolderIDs)
	case b.FindFolder != nil:
		return len(b.FindFolder.ParentFolderIDs)
	}
	return 0
}

// Stats are counters for tests.
type Stats struct {
	Requests       map[string]int // EWS requests by operation (after authentication)
	Throttled      int
	Cut            int
	AuthFailures   int
	SchemaRejected int
	ItemsCreated   int
}

type statsState struct {
	mu    sync.Mutex
	byOp  map[string]int
	thr   int
	cuts  int
	authF int
	schem int
	items int
}

func (st *statsState) request(op string) {
	st.mu.Lock()
	st.byOp[op]++
	st.mu.Unlock()
}
func (st *statsState) throttled()      { st.mu.Lock(); st.thr++; st.mu.Unlock() }
func (st *statsState) cut()            { st.mu.Lock(); st.cuts++; st.mu.Unlock() }
func (st *statsState) authFailure()    { st.mu.Lock(); st.authF++; st.mu.Unlock() }
func (st *statsState) schemaRejected() { st.mu.Lock(); st.schem++; st.mu.Unlock() }
func (st *statsState) itemsCreated(n int) {
	st.mu.Lock()
	st.items += n
	st.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	return Stats{Requests: maps.Clone(st.byOp), Throttled: st.thr, Cut: st.cuts,
		AuthFailures: st.authF, SchemaRejected: st.schem, ItemsCreated: st.items}
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	st := &s.stats
	st.mu.Lock()
	st.byOp = map[string]int{}
	st.thr, st.cuts, st.authF, st.schem, st.items = 0, 0, 0, 0, 0
	st.mu.Unlock()
}
