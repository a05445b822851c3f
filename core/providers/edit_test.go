package providers

import (
	"errors"
	"strings"
	"testing"
)

func TestPutRemove(t *testing.T) {
	dir := t.TempDir()
	base, _ := Load(dir)
	builtin := base.Items[0].Name

	if err := Put(dir, "", Entry{Name: "Mine", OWAURL: "https://mail.mine.example/owa"}); err != nil {
		t.Fatal(err)
	}
	// A rename replaces the entry in place.
	if err := Put(dir, "MINE", Entry{Name: "Mine 2", EWSURL: "https://ex.mine.example/EWS/Exchange.asmx"}); err != nil {
		t.Fatal(err)
	}
	c, _ := Load(dir)
	if _, ok := c.Find("Mine"); ok || len(c.User) != 1 || c.User[0].Name != "Mine 2" {
		t.Fatalf("after rename: %+v", c.User)
	}
	if err := Put(dir, "", Entry{Name: "x"}); err == nil || !strings.Contains(err.Error(), "ews_url") {
		t.Errorf("bad entry: %v", err)
	}
	if err := Put(dir, "Other", Entry{Name: "mine 2", OWAURL: "https://a.example/owa"}); err != nil {
		t.Errorf("put under a missing old name replaces the entry of the new name: %v", err)
	}

	// Hide a built-in provider, then override it: the override replaces
	// the hidden marker.
	if what, err := Remove(dir, strings.ToLower(builtin)); err != nil || what != HidBuiltin {
		t.Fatalf("hide: %v %v", what, err)
	}
	if _, err := Remove(dir, builtin); !errors.Is(err, ErrAlreadyHidden) {
		t.Errorf("hide twice: %v", err)
	}
	if err := Put(dir, "", Entry{Name: builtin, OWAURL: "https://mex1.example/owa"}); err != nil {
		t.Fatal(err)
	}
	c, _ = Load(dir)
	if it, _ := c.Find(builtin); it.Origin != Override || len(c.User) != 2 {
		t.Fatalf("override: %+v, user %+v", it, c.User)
	}
	if what, err := Remove(dir, builtin); err != nil || what != RemovedOverride {
		t.Errorf("remove override: %v %v", what, err)
	}
	if what, err := Remove(dir, "MINE 2"); err != nil || what != RemovedUser {
		t.Errorf("remove user entry: %v %v", what, err)
	}
	if _, err := Remove(dir, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown: %v", err)
	}
	c, errs := Load(dir)
	if len(errs) != 0 || len(c.User) != 0 || len(c.Items) != len(base.Items) {
		t.Errorf("end: %+v %v", c.User, errs)
	}
}
