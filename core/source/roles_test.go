package source

import (
	"testing"

	"github.com/mailferry/mailferry/core/mailbox"
)

func TestNameRoles(t *testing.T) {
	f := func(role string, noselect bool, path ...string) mailbox.Folder {
		return mailbox.Folder{Path: path, Role: role, NoSelect: noselect}
	}
	folders := []mailbox.Folder{
		f(mailbox.RoleInbox, false, "INBOX"),
		f("", false, "INBOX", "Sent"),      // Courier-style, loses to top-level "Sent Items"
		f("", false, "INBOX", "Trash"),     // Courier-style, loses to top-level "deleted items"
		f("", false, "Sent Items"),         // top level wins
		f("", false, "Projects", "Drafts"), // not top level
		f(mailbox.RoleJunk, false, "Bulk"), // SPECIAL-USE already says Junk
		f("", false, "Spam"),               // so Spam stays plain
		f("", true, "Archive"),             // \Noselect: no role
		f("", false, "deleted items"),      // top level, case-insensitive
	}
	nameRoles(folders)
	want := []string{mailbox.RoleInbox, "", "", mailbox.RoleSent, "", mailbox.RoleJunk, "", "", mailbox.RoleTrash}
	for i, w := range want {
		if folders[i].Role != w {
			t.Errorf("%v: role %q; want %q", folders[i].Path, folders[i].Role, w)
		}
	}
}
