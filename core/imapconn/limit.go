package imapconn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// ErrBandwidthLimit marks Gmail's answer that the account used up its
// IMAP download allowance (about 2,500 MB a day per user): retrying now
// does not help; the next pass, after the limit resets, goes on where this
// one stopped (what was migrated is never downloaded again).
var ErrBandwidthLimit = errors.New("the daily download limit for this mailbox is reached")

// bandwidthLimit returns an ErrBandwidthLimit error for Gmail's "Account
// exceeded command or bandwidth limits" (or an OVERQUOTA code), else nil.
func bandwidthLimit(ie *imap.Error) error {
	if ie.Code != imap.ResponseCodeOverQuota && !strings.Contains(strings.ToLower(ie.Text), "exceeded command or bandwidth limits") {
		return nil
	}
	return fmt.Errorf("%w: Gmail allows about 2,500 MB of IMAP download per user and day; run the pass again after the limit resets (within 24 hours) and it goes on where it stopped: %w", ErrBandwidthLimit, ie)
}
