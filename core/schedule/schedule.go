package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Parse reads when to start: "HH:MM" (24-hour, local time) is the next
// time the clock shows it after now (today, or tomorrow when it has
// passed); "YYYY-MM-DD HH:MM" is local time; anything else must be RFC
// 3339 (2026-12-05T22:00:00+01:00). A time that is not after now is an
// error, so a typo never starts a pass at once.
func Parse(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	loc := now.Location()
	if t, err := time.ParseInLocation("15:04", s, loc); err == nil {
		at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, loc)
		if !at.After(now) {
			at = at.AddDate(0, 0, 1)
		}
		return at, nil
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		at, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a start time: use HH:MM (e.g. 22:30), YYYY-MM-DD HH:MM or RFC 3339 (2026-12-05T22:30:00+01:00)", s)
	}
	if !at.After(now) {
		return time.Time{}, fmt.Errorf("start time %s is not in the future", at.Format("2006-01-02 15:04 MST"))
	}
	return at, nil
}

// Wait blocks until at (or returns at once when at is not in the future)
// and returns nil, or ctx's error when it ends first. It follows the wall
// clock, so a computer that slept through at starts the pass on waking.
func Wait(ctx context.Context, at time.Time) error {
	for {
		d := time.Until(at)
		if d <= 0 {
			return nil
		}
		// Re-check at least every minute: timers count monotonic time,
		// which stops while the computer sleeps.
		t := time.NewTimer(min(d, time.Minute))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Describe says when at is, for a status line: "22:30 (in 1h 20m)".
func Describe(at, now time.Time) string {
	f := "15:04"
	if y, m, d := at.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
		f = "Mon 2 Jan 15:04"
	}
	return fmt.Sprintf("%s (in %s)", at.Format(f), Duration(at.Sub(now)))
}

// Duration is d to the minute, for people: "1h20m", "10h", "45m", "<1m".
func Duration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return "<1m"
}
