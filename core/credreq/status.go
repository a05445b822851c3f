package credreq

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/store"
)

// LinkPhase is where a user's link stands (LinkStatus.State).
type LinkPhase string

// Link states, in the order a link goes through them (Expired and Locked
// end a link that was not verified).
const (
	StateIssued    LinkPhase = "issued"    // made, but the email was not accepted (yet)
	StateSent      LinkPhase = "sent"      // the SMTP server accepted the email
	StateOpened    LinkPhase = "opened"    // the user opened the page
	StateSubmitted LinkPhase = "submitted" // the user sent the form; not verified (yet)
	StateLocked    LinkPhase = "locked"    // too many wrong passwords; locked for a while
	StateVerified  LinkPhase = "verified"  // the password was checked and stored
	StateExpired   LinkPhase = "expired"   // expired before it was used
)

// LinkStatus is the state of one user's current link.
type LinkStatus struct {
	User      string    `json:"user"`
	State     LinkPhase `json:"state"`
	Issued    time.Time `json:"issued"`
	Sent      time.Time `json:"sent,omitzero"`
	Opened    time.Time `json:"opened,omitzero"`
	Submitted time.Time `json:"submitted,omitzero"`
	Verified  time.Time `json:"verified,omitzero"`
	Expires   time.Time `json:"expires"`
	// Failures are the wrong passwords within the lockout window.
	Failures int `json:"failures,omitempty"`
	// Base is the server address the link points to; it works only while
	// a server runs there.
	Base string `json:"base"`
	// Detail is one human sentence about the state.
	Detail string `json:"detail"`
}

// LinkStatuses returns the state of the latest link of each user of the
// project that has one, by user ID. It reads the store only, so it works
// with or without a running server (the CLI's credreq status).
func LinkStatuses(st *store.Store, projectName string, now time.Time) ([]LinkStatus, error) {
	latest := map[string]record{}
	err := st.Bolt().View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketName)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) != nil || r.Project != projectName {
				return nil
			}
			if old, ok := latest[r.User]; !ok || r.Issued.After(old.Issued) {
				latest[r.User] = r
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading the links of %q: %w", projectName, err)
	}
	out := make([]LinkStatus, 0, len(latest))
	for _, r := range latest {
		out = append(out, statusOf(r, now, DefaultMaxAttempts, DefaultWindow))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// statusOf derives the state of one link.
func statusOf(r record, now time.Time, maxAttempts int, window time.Duration) LinkStatus {
	ls := LinkStatus{User: r.User, Issued: r.Issued, Sent: r.Sent, Opened: r.Opened, Submitted: r.Submitted,
		Verified: r.Used, Expires: r.Expires, Base: r.Base, Failures: len(recentFails(r.Fails, now, window))}
	at := func(t time.Time) string { return t.Local().Format("2 Jan 15:04") }
	switch {
	case !r.Used.IsZero():
		ls.State, ls.Detail = StateVerified, "password confirmed "+at(r.Used)
	case !now.Before(r.Expires):
		ls.State, ls.Detail = StateExpired, "expired "+at(r.Expires)+" without a password; send a new link"
	case ls.Failures >= maxAttempts:
		ls.State = StateLocked
		ls.Detail = fmt.Sprintf("%d wrong passwords; locked until %s", ls.Failures,
			at(recentFails(r.Fails, now, window)[0].Add(window)))
	case !r.Submitted.IsZero():
		ls.State = StateSubmitted
		ls.Detail = "form sent " + at(r.Submitted) + "; password not accepted yet"
		if ls.Failures > 0 {
			ls.Detail = fmt.Sprintf("form sent %s; %d wrong password(s)", at(r.Submitted), ls.Failures)
		}
	case !r.Opened.IsZero():
		ls.State, ls.Detail = StateOpened, "page opened "+at(r.Opened)+"; no password sent yet"
	case !r.Sent.IsZero():
		ls.State, ls.Detail = StateSent, "emailed "+at(r.Sent)+"; not opened yet"
	default:
		ls.State, ls.Detail = StateIssued, "link made "+at(r.Issued)+" but not emailed"
	}
	return ls
}
