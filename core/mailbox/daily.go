package mailbox

import "time"

// DailyMeter carries a source's download count of the current day across
// passes (Gmail allows about 2,500 MB of IMAP download per user and day).
type DailyMeter struct {
	// Spent is what earlier passes downloaded from this mailbox today.
	Spent int64
	// Resume is when the day's count starts over (the next UTC midnight).
	Resume time.Time
	// Record persists the day's new total; the source calls it after
	// each chunk it takes from the budget. An error is logged, not fatal.
	Record func(spent int64) error
}

// DailyMetered is a Source with a daily download limit. The engine hands
// it the day's meter right after opening it, before any Fetch.
type DailyMetered interface {
	MeterDaily(m DailyMeter)
}
