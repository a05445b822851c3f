package graphemu

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MailboxBudget is Outlook's per-app, per-mailbox budget: at most
// Requests requests in any Window, and at most UploadBytes of request
// bodies (POST, PATCH, PUT) in any UploadWindow; each request inside a
// $batch counts on its own, as Microsoft documents
// (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits).
// Over budget the emulator answers 429 ApplicationThrottled with a
// Retry-After until the oldest request leaves the window, and counts it
// in Stats.OverBudget. Zero fields: no budget.
type MailboxBudget struct {
	Requests     int
	Window       time.Duration
	UploadBytes  int64
	UploadWindow time.Duration
}

type spend struct {
	at    time.Time
	bytes int64
}

type budgets struct {
	mu  sync.Mutex
	log map[string][]spend // by app and mailbox, oldest first
}

// spendBudget records one request of app on mailbox, or refuses it.
func (s *Server) spendBudget(app, mbx, method string, size int) *graphError {
	b := s.opts.Budget
	if b.Requests <= 0 && b.UploadBytes <= 0 {
		return nil
	}
	var up int64
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		up = int64(size)
	}
	key := strings.ToLower(app) + "\x00" + mbx
	now := time.Now()
	s.budget.mu.Lock()
	if s.budget.log == nil {
		s.budget.log = map[string][]spend{}
	}
	keep := max(b.Window, b.UploadWindow)
	l := s.budget.log[key]
	for len(l) > 0 && now.Sub(l[0].at) >= keep {
		l = l[1:]
	}
	var wait time.Duration
	if b.Requests > 0 {
		var in []spend
		for _, x := range l {
			if now.Sub(x.at) < b.Window {
				in = append(in, x)
			}
		}
		if len(in)+1 > b.Requests {
			wait = b.Window - now.Sub(in[len(in)-b.Requests].at)
		}
	}
	if b.UploadBytes > 0 && up > 0 {
		var sum int64
		for _, x := range l {
			if now.Sub(x.at) < b.UploadWindow {
				sum += x.bytes
			}
		}
		if sum+up > b.UploadBytes {
			// Until enough of the oldest uploads have left the window.
			need := sum + up - b.UploadBytes
			for _, x := range l {
				if now.Sub(x.at) >= b.UploadWindow || x.bytes == 0 {
					continue
				}
				need -= x.bytes
				if need <= 0 {
					wait = max(wait, b.UploadWindow-now.Sub(x.at))
					break
				}
			}
			if need > 0 {
				wait = max(wait, b.UploadWindow)
			}
		}
	}
	if wait <= 0 {
		s.budget.log[key] = append(l, spend{at: now, bytes: up})
		s.budget.mu.Unlock()
		return nil
	}
	s.budget.log[key] = l
	s.budget.mu.Unlock()
	s.count(func(st *Stats) { st.OverBudget++; st.Throttled++ })
	e := gerr(http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its resource limit.")
	e.Header = http.Header{"Retry-After": {strconv.Itoa(int((wait + time.Second - 1) / time.Second))}}
	return e
}
