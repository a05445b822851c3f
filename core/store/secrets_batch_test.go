package store

import "testing"

// SetSecrets stores every secret under its own ref, in order, like
// SetSecret one by one.
func TestSetSecretsInOneTransaction(t *testing.T) {
	s := openTest(t)
	plains := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	refs, err := s.SetSecrets(plains)
	if err != nil || len(refs) != len(plains) {
		t.Fatalf("SetSecrets: %v, %v", refs, err)
	}
	seen := map[string]bool{}
	for i, ref := range refs {
		got, err := s.Secret(ref)
		if err != nil || string(got) != string(plains[i]) || seen[ref] {
			t.Errorf("secret %d: %q, %v (ref %s seen before: %v)", i, got, err, ref, seen[ref])
		}
		seen[ref] = true
	}
	if refs, err := s.SetSecrets(nil); err != nil || len(refs) != 0 {
		t.Errorf("no secrets: %v, %v", refs, err)
	}
}
