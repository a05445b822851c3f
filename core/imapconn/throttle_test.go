package imapconn

import (
	"errors"
	"testing"
	"time"
)

func TestThrottledParsesSuggestedBackoff(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"Request is throttled. Suggested Backoff Time: 188475 milliseconds": 188475 * time.Millisecond,
		"request is throttled. suggested backoff time: 2 seconds":           2 * time.Second,
		"User is authenticated but not connected.":                          0,
	} {
		base := errors.New(text)
		err := throttled(text, base)
		d, ok := Throttled(err)
		if want == 0 {
			if err != nil || ok {
				t.Errorf("%q: not a throttling answer, got %v", text, err)
			}
			continue
		}
		if !ok || d != want || !errors.Is(err, ErrConnection) || !errors.Is(err, base) {
			t.Errorf("%q: got %v %v (%v)", text, d, ok, err)
		}
	}
}
