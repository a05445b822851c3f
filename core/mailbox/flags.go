package mailbox

import (
	"context"
	"errors"
)

// FlagUpdate asks a destination to give one already written message an
// exact flag set.
type FlagUpdate struct {
	// DestID is the id the destination returned when the message was
	// written (Result.DestID).
	DestID string
	// Flags is the complete flag set the message must carry (IMAP names:
	// `\Seen`, `\Answered`, `\Flagged`, `\Draft`, keywords). The
	// destination applies the same policy as when writing (which flags it
	// keeps); flags not listed are removed.
	Flags []string
	// Meta describes the source message, for logs and errors.
	Meta Meta
}

// ErrStaleDestID is the per-item error of a FlagUpdate whose DestID no
// longer designates a message (the destination folder was recreated, its
// UIDVALIDITY changed, the item was deleted there). The engine treats it
// as "skipped", not as a failure.
var ErrStaleDestID = errors.New("the destination id no longer designates a message")

// FlagUpdater is implemented by destinations that can change the flags of
// messages they already hold. It is optional: the engine checks for it
// with a type assertion and leaves flags alone on destinations without it.
type FlagUpdater interface {
	// UpdateFlags sets each update's flag set on the message DestID in f.
	// Results are per update, in order: nil Err = done; an error wrapping
	// ErrStaleDestID = skipped; any other Err = not done (tried again by
	// the next pass). A non-nil error means the call did not complete
	// (connection lost, stopped): every update not known to be done must
	// carry an error in the results returned with it. Setting flags is
	// idempotent, so a failed call may be repeated as a whole.
	UpdateFlags(ctx context.Context, f FolderRef, updates []FlagUpdate) ([]Result, error)
}

// Describer is implemented by destinations that can say how they write,
// e.g. the Graph destination's creation path (importMime or JSON) and
// what the JSON path loses; the engine reports it when a pass starts.
type Describer interface {
	Describe(ctx context.Context) string
}
