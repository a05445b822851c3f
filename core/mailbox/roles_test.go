package mailbox

import "testing"

func TestRoleForName(t *testing.T) {
	for name, want := range map[string]struct {
		role  string
		exact bool
	}{
		"Sent Messages":      {RoleSent, true},
		"sent messages":      {RoleSent, false},
		"Gesendete Elemente": {RoleSent, true},
		"Éléments supprimés": {RoleTrash, true},
		"Posta indesiderata": {RoleJunk, true},
		"Черновики":          {RoleDrafts, true},
		"ARCHIEF":            {RoleArchive, false},
		"Projects":           {"", false},
	} {
		role, exact := RoleForName(name)
		if role != want.role || exact != want.exact {
			t.Errorf("RoleForName(%q) = %q, %v; want %q, %v", name, role, exact, want.role, want.exact)
		}
	}
	// No name stands for two roles.
	seen := map[string]string{}
	for role, names := range conventionalNames {
		for _, n := range names {
			if other, ok := seen[n]; ok && other != role {
				t.Errorf("%q is both %s and %s", n, other, role)
			}
			seen[n] = role
		}
	}
}
