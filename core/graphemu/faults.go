package graphemu

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttle describes which requests are refused and how.
type Throttle struct {
	// Status is 429 (Too Many Requests, with Retry-After), 503 (Service
	// Unavailable, with Retry-After) or 504 (Gateway Timeout); 0 turns
	// throttling off.
	Status int
	// Every throttles every Nth matching request (0 or 1: every one).
	Every int
	// Count stops after this many throttled answers (0: no limit).
	Count int
	// RetryAfter is sent in the Retry-After header (whole seconds, rounded
	// up); zero sends none.
	RetryAfter time.Duration
	// Batch throttles the $batch request as a whole instead of the
	// individual requests (those inside a batch included).
	Batch bool
	// Methods limits throttling to these HTTP methods (empty: all).
	Methods []string
	// PathContains limits throttling to requests whose path holds this
	// text (empty: all), e.g. "/messages/" for requests on one message.
	PathContains string
	// Window makes each throttled answer throttle the whole server (the
	// mailbox, as Exchange Online does) for RetryAfter: until it has
	// passed, every request (every request inside a $batch, without
	// Batch) is refused the same way, whatever Every, Count, Methods and
	// PathContains say, and Stats.SentInWindow counts the HTTP requests that arrived
	// inside such a window: a client that obeys Retry-After for the whole
	// mailbox sends none.
	Window bool
}

// Cut makes the server drop connections without answering.
type Cut struct {
	Every int // drop every Nth Graph request (0: never)
	// AfterProcessing drops the connection after the request ran (items
	// were created, the answer is lost) instead of before.
	AfterProcessing bool
	Count           int // stop after this many cuts (0: no limit)
}

type faults struct {
	mu       sync.Mutex
	throttle Throttle
	tSeen    int
	tDone    int
	wEnd     time.Time // end of the current throttle window (Throttle.Window)
	cut      Cut
	cSeen    int
	cDone    int
	lat      time.Duration
	inFlight map[string]int
	// upload ranges to store and then answer by cutting the connection
	upCut int
}

// CutUploadRanges makes the next n byte ranges PUT to upload URLs be
// stored and then answered by closing the connection (the answer is
// lost, the bytes are not).
func (s *Server) CutUploadRanges(n int) {
	s.faults.mu.Lock()
	s.faults.upCut = n
	s.faults.mu.Unlock()
}

func (f *faults) cutUpload() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.upCut > 0 {
		f.upCut--
		return true
	}
	return false
}

// SetThrottle replaces the throttling rule and resets its counters.
func (s *Server) SetThrottle(t Throttle) {
	s.faults.mu.Lock()
	s.faults.throttle, s.faults.tSeen, s.faults.tDone, s.faults.wEnd = t, 0, 0, time.Time{}
	s.faults.mu.Unlock()
}

// SetCut replaces the connection-cutting rule and resets its counters.
func (s *Server) SetCut(c Cut) {
	s.faults.mu.Lock()
	s.faults.cut, s.faults.cSeen, s.faults.cDone = c, 0, 0
	s.faults.mu.Unlock()
}

// SetLatency delays every Graph request (not token requests) by d, and
// every request inside a batch too.
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.lat = d
	s.faults.mu.Unlock()
}

// SetMaxConcurrency changes the per app and mailbox concurrency limit
// (negative: none).
func (s *Server) SetMaxConcurrency(n int) {
	s.faults.mu.Lock()
	s.opts.MaxConcurrency = n
	s.faults.mu.Unlock()
}

// SetMaxMessageSize changes the per-message size limit.
func (s *Server) SetMaxMessageSize(n int64) {
	s.mu.Lock()
	s.opts.MaxMessageSize = n
	s.mu.Unlock()
}

func (f *faults) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lat
}

func (f *faults) cutNow() (cut, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cut
	if c.Every <= 0 || (c.Count > 0 && f.cDone >= c.Count) {
		return false, false
	}
	f.cSeen++
	if f.cSeen%c.Every != 0 {
		return false, false
	}
	f.cDone++
	return true, c.AfterProcessing
}

// throttleCheck decides whether a request is throttled; batch says whether
// it is a $batch request as a whole.
func (s *Server) throttleCheck(batch bool, method, path string) *graphError {
	f := &s.faults
	f.mu.Lock()
	t := f.throttle
	if t.Status == 0 || t.Batch != batch {
		f.mu.Unlock()
		return nil
	}
	if t.Window && time.Now().Before(f.wEnd) {
		left := time.Until(f.wEnd)
		f.mu.Unlock()
		s.count(func(st *Stats) { st.Throttled++ })
		return throttleError(t, left)
	}
	if (t.Count > 0 && f.tDone >= t.Count) || (t.PathContains != "" && !strings.Contains(path, t.PathContains)) {
		f.mu.Unlock()
		return nil
	}
	if len(t.Methods) > 0 {
		ok := false
		for _, m := range t.Methods {
			ok = ok || strings.EqualFold(m, method)
		}
		if !ok {
			f.mu.Unlock()
			return nil
		}
	}
	f.tSeen++
	if t.Every > 1 && f.tSeen%t.Every != 0 {
		f.mu.Unlock()
		return nil
	}
	f.tDone++
	if t.Window {
		f.wEnd = time.Now().Add(t.RetryAfter)
	}
	f.mu.Unlock()
	s.count(func(st *Stats) {
		st.Throttled++
		if t.Window {
			st.Windows++
		}
	})
	return throttleError(t, t.RetryAfter)
}

// inWindow reports whether a throttle window (Throttle.Window) is open.
func (f *faults) inWindow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.throttle.Window && time.Now().Before(f.wEnd)
}

// throttleError is the answer of a throttled request; retryAfter is sent
// rounded up to whole seconds.
func throttleError(t Throttle, retryAfter time.Duration) *graphError {
	var e *graphError
	switch t.Status {
	case http.StatusTooManyRequests:
		e = gerr(t.Status, "ApplicationThrottled", "Application is over its resource limit.")
	case http.StatusServiceUnavailable:
		e = gerr(t.Status, "ServiceNotAvailable", "The service is temporarily unavailable. Please retry later.")
	case http.StatusGatewayTimeout:
		e = gerr(t.Status, "GatewayTimeout", "The gateway did not receive a timely response from the upstream server.")
	default:
		e = gerr(t.Status, "ServiceError", "Injected failure.")
	}
	if retryAfter > 0 && t.Status != http.StatusGatewayTimeout {
		secs := int((retryAfter + time.Second - 1) / time.Second)
		e.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	}
	return e
}

// admit counts a request of app on mailbox in flight (Outlook's 4
// concurrent requests); release undoes it.
func (s *Server) admit(app, mbx string) (release func(), e *graphError) {
	key := strings.ToLower(app) + "\x00" + mbx
	f := &s.faults
	f.mu.Lock()
	limit := s.opts.MaxConcurrency
	if limit > 0 && f.inFlight[key] >= limit {
		f.mu.Unlock()
		s.count(func(st *Stats) { st.Throttled++ })
		e := gerr(http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
		e.Header = http.Header{"Retry-After": {"1"}}
		return nil, e
	}
	f.inFlight[key]++
	n := f.inFlight[key]
	f.mu.Unlock()
	s.count(func(st *Stats) { st.MaxInFlight = max(st.MaxInFlight, n) })
	return func() {
		f.mu.Lock()
		f.inFlight[key]--
		if f.inFlight[key] <= 0 {
			delete(f.inFlight, key)
		}
		f.mu.Unlock()
	}, nil
}
