package usecase

import (
	"errors"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

func TestCreateProject(t *testing.T) {
	st := newStore(t)
	p, err := CreateProject(st, "  Acme Move ", " Acme Co ")
	if err != nil || p.Name != "Acme Move" || p.Customer != "Acme Co" || p.Options.MaxConcurrentUsers != project.DefaultOptions().MaxConcurrentUsers {
		t.Fatalf("%+v, %v", p, err)
	}
	if got, err := st.Project("Acme Move"); err != nil || !got.Created.Equal(p.Created) {
		t.Fatalf("stored %+v, %v", got, err)
	}
	if _, err := CreateProject(st, "acme move", ""); !errors.Is(err, store.ErrExists) {
		t.Errorf("same name again: %v", err)
	}
	if _, err := CreateProject(st, "/bad", ""); fieldErrors(err)["name"] == "" {
		t.Errorf("bad name: %v", err)
	}
}

func TestFreeProjectName(t *testing.T) {
	st := newStore(t)
	if n, err := FreeProjectName(st, " Acme "); err != nil || n != "Acme" {
		t.Fatalf("free name: %q, %v", n, err)
	}
	for _, name := range []string{"Acme", "acme (2)"} {
		if _, err := CreateProject(st, name, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := FreeProjectName(st, "ACME"); err != nil || n != "ACME (3)" {
		t.Fatalf("taken name: %q, %v, want ACME (3)", n, err)
	}
}
