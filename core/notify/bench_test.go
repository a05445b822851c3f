package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
)

// BenchmarkSend100 sends 100 rendered notifications over one STARTTLS +
// AUTH connection to the in-process server (one op = 100 messages).
func BenchmarkSend100(b *testing.B) {
	srv := smtptest.Start(b, smtptest.Config{Users: map[string]string{"relay": smtpPass}})
	tmpl := notify.DefaultNotifyTemplate()
	p := project.Project{Name: "Bench", Customer: "Bench Ltd"}
	msgs := make([]notify.Message, 100)
	for i := range msgs {
		u := project.User{SourceEmail: fmt.Sprintf("user%03d@example.com", i)}
		subj, body, err := tmpl.Render(notify.Vars(p, u, benchTime))
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = notify.Message{To: u.SourceEmail, Subject: subj, Body: body}
	}
	opt := &notify.Options{RootCAs: srv.RootCAs(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg := cfgFor(srv, project.SecurityStartTLS, "relay")
	b.ResetTimer()
	for b.Loop() {
		res, err := notify.Send(context.Background(), cfg, smtpPass, msgs, opt)
		if err != nil || len(res.Sent) != len(msgs) {
			b.Fatalf("%v %+v", err, res.Failed)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	tmpl := notify.DefaultNotifyTemplate()
	vars := notify.Vars(project.Project{Name: "Bench"}, project.User{SourceEmail: "a@example.com"}, benchTime)
	for b.Loop() {
		if _, _, err := tmpl.Render(vars); err != nil {
			b.Fatal(err)
		}
	}
}
