package notify

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names work on Windows and machines without a zone database
)

// WhenLayout is how a migration date and time is typed (in a zone).
const WhenLayout = "2006-01-02 15:04"

// Zone returns the time zone named name: "" or "Local" is this
// computer's zone, anything else an IANA name such as "Europe/Berlin".
// An unknown name is an error that says how to write one.
func Zone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.EqualFold(name, "local") {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q is not known: use a name like Europe/Berlin or America/New_York (empty = this computer's zone)", name)
	}
	return loc, nil
}

// ParseWhen reads a migration date and time written as WhenLayout
// ("2026-03-14 18:00") in loc.
func ParseWhen(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(WhenLayout, strings.TrimSpace(s), loc)
	if err != nil {
		return t, fmt.Errorf("%q is not a date and time (want YYYY-MM-DD HH:MM, e.g. 2026-03-14 18:00)", s)
	}
	return t, nil
}

// ZoneText names t's zone for people: "CET, UTC+01:00", "UTC", or
// "UTC+03:00" for a zone without an abbreviation. The zone's IANA name
// comes first when t's location has one ("Europe/Berlin: CET, UTC+01:00").
func ZoneText(t time.Time) string {
	abbr, off := t.Format("MST"), "UTC"+t.Format("-07:00")
	var s string
	switch {
	case abbr == "UTC" || abbr == "GMT" && off == "UTC+00:00":
		s = abbr
	case strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-"):
		s = off
	default:
		s = abbr + ", " + off
	}
	if n := t.Location().String(); n != "Local" && n != "UTC" && n != "" {
		s = n + ": " + s
	}
	return s
}

// ClockText is t's time of day with its zone, as users read it in mail:
// "18:00 CET (UTC+01:00)", "18:00 UTC", "18:00 (UTC+03:00)".
func ClockText(t time.Time) string {
	abbr, off := t.Format("MST"), "UTC"+t.Format("-07:00")
	switch {
	case abbr == "UTC":
		return t.Format("15:04") + " UTC"
	case strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-"):
		return t.Format("15:04") + " (" + off + ")"
	}
	return t.Format("15:04") + " " + abbr + " (" + off + ")"
}
