package credreq_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// BenchmarkIssue issues links round-robin for the 300 users of a project
// (the bucket holds up to 300 live tokens, as in a large project).
func BenchmarkIssue(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "mf.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateProject(project.Project{Name: "B", Options: project.DefaultOptions()}); err != nil {
		b.Fatal(err)
	}
	users := make([]project.User, 300)
	for i := range users {
		users[i] = project.User{SourceEmail: fmt.Sprintf("u%03d@example.com", i), AddressesOnly: true}
	}
	if err := st.PutUsers("B", users); err != nil {
		b.Fatal(err)
	}
	srv, err := credreq.Start(st, credreq.Config{
		Verifier: func(context.Context, project.Project, project.User, string, string) error { return nil },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	i := 0
	for b.Loop() {
		if _, err := srv.Issue("B", users[i%len(users)].SourceEmail); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
