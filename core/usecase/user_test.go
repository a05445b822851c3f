package usecase

import (
	"errors"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

func secretOf(t *testing.T, st *store.Store, ref string) string {
	t.Helper()
	if ref == "" {
		return ""
	}
	b, err := st.Secret(ref)
	if err != nil {
		t.Fatalf("secret %s: %v", ref, err)
	}
	return string(b)
}

// SaveUser adds a user with the CSV import's checks, seals its password,
// refuses a second user with the same address, edits one in place
// (keeping status and the passwords not given), re-keys it, and
// RemoveUsers deletes it with its secrets.
func TestSaveUserAddEditRemove(t *testing.T) {
	st := newStore(t, "P")
	// The CSV rules, by field.
	_, err := SaveUser(st, UserInput{Project: "P", User: project.User{SourceEmail: "not-an-email", DestLogin: "x\x07"}})
	fe := fieldErrors(err)
	if fe["source_email"] == "" || fe["dest_email"] == "" || fe["dest_login"] == "" {
		t.Fatalf("bad input: %v", err)
	}
	if us, _ := st.Users("P"); len(us) != 0 {
		t.Fatalf("a refused user was stored: %+v", us)
	}

	// Added without a password: waits for the credential request.
	u, err := SaveUser(st, UserInput{Project: "P", User: project.User{SourceEmail: " Ann@Old.example ", DestEmail: "ann@new.example", SourceLogin: "ann"}})
	if err != nil || u.SourceEmail != "Ann@Old.example" || !u.AddressesOnly || u.Status != project.StatusNotSubmitted {
		t.Fatalf("add: %+v, %v", u, err)
	}
	if _, err := SaveUser(st, UserInput{Project: "P", User: project.User{SourceEmail: "ann@old.example", DestEmail: "x@new.example"}}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("adding ann twice: %v", err)
	}
	// Edit: a password is given, the status stays.
	if err := st.UpdateUser("P", "ann@old.example", func(u *project.User) error { u.Status = project.StatusCompleted; return nil }); err != nil {
		t.Fatal(err)
	}
	u, err = SaveUser(st, UserInput{Project: "P", ID: "ann@old.example", User: project.User{SourceEmail: "ann@old.example", DestEmail: "ann.b@new.example"},
		SourcePassword: []byte("Ann-Pw-1"), DestPassword: []byte("Ann-Dest-2")})
	if err != nil || u.DestEmail != "ann.b@new.example" || u.AddressesOnly || u.Status != project.StatusCompleted || u.SourceLogin != "" {
		t.Fatalf("edit: %+v, %v", u, err)
	}
	if secretOf(t, st, u.SourcePasswordRef) != "Ann-Pw-1" || secretOf(t, st, u.DestPasswordRef) != "Ann-Dest-2" {
		t.Fatal("the edited passwords were not sealed")
	}
	oldSrc, oldDst := u.SourcePasswordRef, u.DestPasswordRef
	// Edit without passwords keeps them; clearing one drops it (and its secret).
	u, err = SaveUser(st, UserInput{Project: "P", ID: "ann@old.example", User: project.User{SourceEmail: "ann@old.example", DestEmail: "ann@new.example"},
		ClearDestPassword: true})
	if err != nil || u.SourcePasswordRef != oldSrc || u.DestPasswordRef != "" {
		t.Fatalf("edit keeping the source password: %+v, %v", u, err)
	}
	if _, err := st.Secret(oldDst); err == nil {
		t.Error("the cleared destination password is still sealed")
	}
	// Re-key onto another user's address: refused; onto a free one: moved.
	if _, err := SaveUser(st, UserInput{Project: "P", User: project.User{SourceEmail: "bob@old.example", DestEmail: "bob@new.example"}, SourcePassword: []byte("Bob-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveUser(st, UserInput{Project: "P", ID: "ann@old.example", User: project.User{SourceEmail: "bob@old.example", DestEmail: "ann@new.example"},
		SourcePassword: []byte("lost")}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("re-key onto bob: %v", err)
	}
	if u, err = SaveUser(st, UserInput{Project: "P", ID: "ann@old.example", User: project.User{SourceEmail: "anna@old.example", DestEmail: "ann@new.example"}}); err != nil || u.Status != project.StatusCompleted {
		t.Fatalf("re-key: %+v, %v", u, err)
	}
	if _, err := st.User("P", "ann@old.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old key stays: %v", err)
	}
	// Remove: all or nothing.
	if err := RemoveUsers(st, "P", []string{"anna@old.example", "nobody@old.example"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove with an unknown address: %v", err)
	}
	if err := RemoveUsers(st, "P", []string{" ANNA@old.example", "bob@old.example"}); err != nil {
		t.Fatal(err)
	}
	if us, _ := st.Users("P"); len(us) != 0 {
		t.Fatalf("after remove: %+v", us)
	}
	if _, err := st.Secret(oldSrc); err == nil {
		t.Error("a removed user's password is still sealed")
	}
	if _, err := SaveUser(st, UserInput{Project: "Nope", User: project.User{SourceEmail: "a@b.example", DestEmail: "a@c.example"}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
}
