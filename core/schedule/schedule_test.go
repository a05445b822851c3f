package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 12, 4, 21, 30, 0, 0, loc)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"22:15", time.Date(2026, 12, 4, 22, 15, 0, 0, loc)},
		{" 06:00 ", time.Date(2026, 12, 5, 6, 0, 0, 0, loc)}, // passed today: tomorrow
		{"21:30", time.Date(2026, 12, 5, 21, 30, 0, 0, loc)},
		{"2026-12-06 08:00", time.Date(2026, 12, 6, 8, 0, 0, 0, loc)},
		{"2026-12-05T01:00:00Z", time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)},
	} {
		got, err := Parse(c.in, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "25:00", "tonight", "2026-12-01 08:00", "2026-12-04T20:00:00+01:00"} {
		if _, err := Parse(bad, now); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := Parse("soon", now); err == nil || !strings.Contains(err.Error(), "HH:MM") {
		t.Errorf("error does not say what to type: %v", err)
	}
}

func TestWait(t *testing.T) {
	t0 := time.Now()
	if err := Wait(context.Background(), t0.Add(150*time.Millisecond)); err != nil || time.Since(t0) < 150*time.Millisecond {
		t.Fatalf("Wait returned %v after %v", err, time.Since(t0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Wait(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled Wait: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	now := time.Date(2026, 12, 4, 21, 30, 0, 0, time.UTC)
	if got := Describe(now.Add(80*time.Minute), now); got != "22:50 (in 1h20m)" {
		t.Errorf("%q", got)
	}
	if got := Describe(now.Add(10*time.Hour), now); got != "Sat 5 Dec 07:30 (in 10h)" {
		t.Errorf("%q", got)
	}
	for d, want := range map[time.Duration]string{65 * time.Minute: "1h05m", 45 * time.Minute: "45m", 20 * time.Second: "<1m"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
