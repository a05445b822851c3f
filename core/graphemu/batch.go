package graphemu

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// serveBatch runs a JSON batch: at most 20 requests, ids unique, a body
// needs a Content-Type header; without dependsOn up to 4 requests run in
// parallel, with it they run in order and a failed dependency makes its
// dependants fail with 424.
func (s *Server) serveBatch(rec *response, ac *authCtx, version string, body []byte) {
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Invalid batch payload format."))
		return
	}
	if len(in.Requests) == 0 {
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Invalid batch payload format."))
		return
	}
	if len(in.Requests) > MaxBatchRequests {
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Number of batch request steps exceeds the maximum of %d.", MaxBatchRequests))
		return
	}
	seen := map[string]bool{}
	sequential := false
	for _, q := range in.Requests {
		id := strings.ToLower(q.ID)
		if q.ID == "" || seen[id] {
			rec.err(gerr(http.StatusBadRequest, "BadRequest", "Batch request ids must be present and unique (%q).", q.ID))
			return
		}
		seen[id] = true
		if q.Method == "" || q.URL == "" {
			rec.err(gerr(http.StatusBadRequest, "BadRequest", "Batch request %q needs a method and a url.", q.ID))
			return
		}
		if len(q.Body) > 0 && string(q.Body) != "null" && header(q.Headers, "Content-Type") == "" {
			rec.err(gerr(http.StatusBadRequest, "BadRequest", "Batch request %q has a body but no Content-Type header.", q.ID))
			return
		}
		for _, d := range q.DependsOn {
			if !seen[strings.ToLower(d)] {
				rec.err(gerr(http.StatusBadRequest, "BadRequest", "Batch request %q depends on %q, which is not an earlier request.", q.ID, d))
				return
			}
		}
		sequential = sequential || len(q.DependsOn) > 0
	}
	s.count(func(st *Stats) { st.BatchedRequests += len(in.Requests) })
	out := make([]map[string]any, len(in.Requests))
	status := map[string]int{}
	run := func(i int) {
		q := in.Requests[i]
		sub := &response{header: http.Header{}}
		u := strings.TrimPrefix(q.URL, "/")
		if strings.HasPrefix(u, "$batch") {
			sub.err(gerr(http.StatusBadRequest, "BadRequest", "Nested batches are not supported."))
		} else {
			path, rawQuery, _ := strings.Cut(u, "?")
			b := []byte(q.Body)
			ct := header(q.Headers, "Content-Type")
			if strings.HasPrefix(strings.ToLower(ct), "text/plain") {
				var str string
				if json.Unmarshal(q.Body, &str) == nil {
					b = []byte(str)
				}
			}
			if string(b) == "null" {
				b = nil
			}
			s.serveGraph(sub, ac, version, strings.ToUpper(q.Method), path, rawQuery, ct, b, true)
		}
		hdr := map[string]string{"Content-Type": "application/json"}
		for k, v := range sub.header {
			hdr[k] = strings.Join(v, ", ")
		}
		res := map[string]any{"id": q.ID, "status": sub.status, "headers": hdr}
		if sub.body != nil {
			res["body"] = sub.body
		}
		out[i] = res
	}
	if sequential {
		for i, q := range in.Requests {
			failed := false
			for _, d := range q.DependsOn {
				if status[strings.ToLower(d)] >= 400 {
					failed = true
				}
			}
			if failed {
				e := gerr(http.StatusFailedDependency, "FailedDependency", "A dependency of this request failed.")
				out[i] = map[string]any{"id": q.ID, "status": e.Status, "headers": map[string]string{"Content-Type": "application/json"}, "body": errorBody(e)}
			} else {
				run(i)
			}
			status[strings.ToLower(q.ID)] = out[i]["status"].(int)
		}
	} else {
		var wg sync.WaitGroup
		sem := make(chan struct{}, batchParallelism)
		for i := range in.Requests {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				run(i)
			}()
		}
		wg.Wait()
	}
	rec.json(http.StatusOK, map[string]any{"responses": out})
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
