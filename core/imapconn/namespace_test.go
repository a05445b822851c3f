package imapconn

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func nsd(prefix string, delim rune) imap.NamespaceDescriptor {
	return imap.NamespaceDescriptor{Prefix: prefix, Delim: delim}
}

// The answers real servers give, odd ones included.
func TestNamespacesSplit(t *testing.T) {
	cpanel := CleanNamespaces(imap.NamespaceData{Personal: []imap.NamespaceDescriptor{nsd("INBOX.", '.')}})
	dovecot := CleanNamespaces(imap.NamespaceData{Personal: []imap.NamespaceDescriptor{nsd("", '/')}})
	// Prefix without its separator, and a NIL delimiter with a prefix that
	// ends in one.
	noSep := CleanNamespaces(imap.NamespaceData{Personal: []imap.NamespaceDescriptor{nsd("INBOX", '.')}})
	nilDelim := CleanNamespaces(imap.NamespaceData{Personal: []imap.NamespaceDescriptor{nsd("INBOX.", 0)}})
	// "" and "INBOX." both personal: the longer prefix wins.
	both := CleanNamespaces(imap.NamespaceData{Personal: []imap.NamespaceDescriptor{nsd("", '.'), nsd("INBOX.", '.')}})
	// Cyrus: other users under "user.", shared folders at the top level
	// next to the personal "INBOX.".
	cyrus := CleanNamespaces(imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{nsd("INBOX.", '.')},
		Other:    []imap.NamespaceDescriptor{nsd("user.", '.')},
		Shared:   []imap.NamespaceDescriptor{nsd("", '.')},
	})
	public := CleanNamespaces(imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{nsd("", '/')},
		Shared:   []imap.NamespaceDescriptor{nsd("Public/", '/')},
	})
	for _, c := range []struct {
		ns    Namespaces
		name  string
		delim rune
		kind  string
		path  []string
	}{
		{cpanel, "INBOX", '.', NamespacePersonal, []string{"INBOX"}},
		{cpanel, "inbox", '.', NamespacePersonal, []string{"INBOX"}},
		{cpanel, "INBOX.Archive.2020", '.', NamespacePersonal, []string{"Archive", "2020"}},
		{cpanel, "Inbox.Sent Messages", '.', NamespacePersonal, []string{"Sent Messages"}},
		{cpanel, "Outside", '.', NamespacePersonal, []string{"Outside"}},
		{dovecot, "INBOX/Receipts", '/', NamespacePersonal, []string{"INBOX", "Receipts"}},
		{dovecot, "Archive/2020", '/', NamespacePersonal, []string{"Archive", "2020"}},
		{noSep, "INBOX.Archive.2020", '.', NamespacePersonal, []string{"Archive", "2020"}},
		{noSep, "INBOXES", '.', NamespacePersonal, []string{"INBOXES"}},
		{nilDelim, "INBOX.Archive.2020", '.', NamespacePersonal, []string{"Archive", "2020"}},
		{both, "INBOX.Sent", '.', NamespacePersonal, []string{"Sent"}},
		{both, "Sent", '.', NamespacePersonal, []string{"Sent"}},
		{cyrus, "INBOX.Drafts", '.', NamespacePersonal, []string{"Drafts"}},
		{cyrus, "user.bob.Sent", '.', NamespaceOther, []string{"user", "bob", "Sent"}},
		{cyrus, "user", '.', NamespaceOther, []string{"user"}},
		{cyrus, "shared-folder", '.', NamespaceShared, []string{"shared-folder"}},
		{public, "Public/Team", '/', NamespaceShared, []string{"Public", "Team"}},
		{public, "Public", '/', NamespaceShared, []string{"Public"}},
		{public, "Publicity", '/', NamespacePersonal, []string{"Publicity"}},
	} {
		kind, path := c.ns.Split(c.name, c.delim)
		if kind != c.kind || !reflect.DeepEqual(path, c.path) {
			t.Errorf("%s: Split(%q) = %s %q; want %s %q", c.ns.Describe(), c.name, kind, path, c.kind, c.path)
		}
	}
	if p, d := both.PersonalPrefix(); p != "INBOX." || d != '.' {
		t.Errorf("both: prefix %q %q; want INBOX.", p, d)
	}
}

func TestInferNamespaces(t *testing.T) {
	for _, c := range []struct {
		names  []string
		prefix string
	}{
		{[]string{"INBOX", "INBOX.Sent", "INBOX.Archive", "INBOX.Archive.2020"}, "INBOX."},
		{[]string{"INBOX", "INBOX.Sent", "Archive"}, ""},
		{[]string{"INBOX"}, ""},
		{nil, ""},
	} {
		got, _ := InferNamespaces(c.names, '.').PersonalPrefix()
		if got != c.prefix {
			t.Errorf("InferNamespaces(%q) = %q; want %q", c.names, got, c.prefix)
		}
	}
}

func TestParseLsub(t *testing.T) {
	for line, want := range map[string]string{
		`* LSUB () "." INBOX.Sent`:                            "INBOX.Sent",
		`* LSUB (\Noselect) "/" "Say \"Hi\""`:                 `Say "Hi"`,
		`* LSUB () NIL inbox`:                                 "INBOX",
		`* LSUB () "." {14}INBOX.Caf&AOk-`:                    "INBOX.Café",
		`* lsub (\HasNoChildren) "." "&ZeVnLIqe- &MOEw,DDr-"`: "日本語 メール",
	} {
		got, ok := parseLsub(line)
		if !ok || got != want {
			t.Errorf("parseLsub(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
	if _, ok := parseLsub(`* LIST () "." INBOX`); ok {
		t.Error("a LIST line parsed as LSUB")
	}
}

func TestDecodeMailboxNameRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "a&b", "Café Données", "日本語 メール", "x&-y", "🙂 emoji"} {
		if got := DecodeMailboxName(EncodeMailboxName(s)); got != s {
			t.Errorf("round trip %q = %q", s, got)
		}
	}
}
