package exchange

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
)

// WellKnown maps a source special-use role to an Exchange distinguished
// (well-known) folder; EWS and Graph use the same names.
var WellKnown = map[string]string{
	mailbox.RoleInbox:  "inbox",
	mailbox.RoleSent:   "sentitems",
	mailbox.RoleDrafts: "drafts",
	mailbox.RoleTrash:  "deleteditems",
	mailbox.RoleJunk:   "junkemail",
}

// Folder is one folder of a destination mailbox's tree, as far as it is
// known.
type Folder struct {
	ID, Name string
	Class    string // FolderClass ("IPF.Note", ...) where the protocol gives it
	Children []*Folder
	Loaded   bool // Children known
}

// Child finds a direct child by name, case-insensitively as Exchange does.
func (n *Folder) Child(name string) *Folder {
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// PR_MESSAGE_FLAGS bits.
const (
	msgFlagRead   = 0x1
	msgFlagUnsent = 0x8
)

// MessageFlags is the PR_MESSAGE_FLAGS value of a message created from m:
// read when m is \Seen, and unsent (a draft that stays a draft) when m is
// a \Draft written into Drafts. seen reports m's \Seen.
func MessageFlags(m *mailbox.Message, inDrafts bool) (flags int, seen bool) {
	seen = m.HasFlag(`\Seen`)
	if seen {
		flags |= msgFlagRead
	}
	if inDrafts && m.HasFlag(`\Draft`) {
		flags |= msgFlagUnsent // a draft stays a draft, in Drafts only
	}
	return flags, seen
}

// Step is one line of an EWS or Graph endpoint test report.
type Step struct {
	Name   string
	Detail string
	Err    error
	Took   time.Duration
}

// WriteSteps writes steps as report lines, one a step:
// "name (detail): ok [took]" or "name: FAILED: why [took]".
func WriteSteps(w io.Writer, steps []Step) {
	for _, s := range steps {
		status := "ok"
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		}
		if s.Detail != "" {
			fmt.Fprintf(w, "%s (%s): %s [%s]\n", s.Name, s.Detail, status, s.Took.Round(time.Millisecond))
		} else {
			fmt.Fprintf(w, "%s: %s [%s]\n", s.Name, status, s.Took.Round(time.Millisecond))
		}
	}
}
