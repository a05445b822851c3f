package kit

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/core/project"
)

func TestStoreSealAndReopen(t *testing.T) {
	path := t.TempDir() + "/mf.db"
	st := StoreAt(t, path)
	ref := Seal(t, st, "s3cret")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = StoreAt(t, path)
	got, err := st.Secret(ref)
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("reopened store: secret %q, %v", got, err)
	}
	if _, err := Store(t).Secret(ref); err == nil {
		t.Error("a new store knows the secret of another one")
	}
}

func TestIMAPEndpoint(t *testing.T) {
	ep := IMAPEndpoint("127.0.0.1:1143")
	want := project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: 1143, Security: project.SecurityNone}
	if ep != want {
		t.Errorf("%+v, want %+v", ep, want)
	}
}

func TestSyncBufferConcurrentWriters(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				fmt.Fprintf(&b, "w%d-%d\n", i, j)
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestLoseStore(t *testing.T) {
	path := t.TempDir() + "/mf.db"
	st := StoreAt(t, path)
	ref := Seal(t, st, "s3cret")
	LoseStore(t, st, path)
	st = StoreAt(t, path)
	if _, err := st.Secret(ref); err == nil {
		t.Error("the secret survived the loss of the database")
	}
	if ps, err := st.Projects(); err != nil || len(ps) != 0 {
		t.Errorf("projects after the loss: %v, %v", ps, err)
	}
}
