package mailbox

import "strings"

// conventionalNames are the names mail clients and servers give special
// folders when the server has no SPECIAL-USE (RFC 6154), in their usual
// spelling. See the package documentation for their sources.
var conventionalNames = map[string][]string{
	RoleSent: {"Sent", "Sent Items", "Sent Messages", "Sent Mail",
		"Gesendet", "Gesendete Objekte", "Gesendete Elemente"},
	RoleDrafts: {"Drafts", "Draft", "Entwürfe"},
	RoleTrash: {"Trash", "Deleted Items", "Deleted Messages", "Bin",
		"Papierkorb", "Gelöschte Elemente", "Gelöschte Objekte"},
	RoleJunk:    {"Junk", "Junk E-mail", "Junk Email", "Spam", "Bulk Mail", "Junk-E-Mail"},
	RoleArchive: {"Archive", "Archives", "Archiv"},
}

var (
	byExactName = map[string]string{}
	byFoldName  = map[string]string{}
)

func init() {
	for role, names := range conventionalNames {
		for _, n := range names {
			byExactName[n] = role
			byFoldName[strings.ToLower(n)] = role
		}
	}
}

// RoleForName is the role a folder named name has by convention ("" if
// none), and whether the name is spelled exactly as the convention spells
// it ("Sent Items") rather than only equal ignoring case ("sent items"):
// a mailbox with both "Archive" and "archive" gives the role to the
// former.
func RoleForName(name string) (role string, exact bool) {
	if r, ok := byExactName[name]; ok {
		return r, true
	}
	return byFoldName[strings.ToLower(name)], false
}

// ConventionalNames lists the conventional names of role, most common
// first.
func ConventionalNames(role string) []string {
	return append([]string(nil), conventionalNames[role]...)
}
