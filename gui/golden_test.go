package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The main views at 1280×800 on the test theme. Regenerate after a
// deliberate layout change by moving testdata/failed/*.png to testdata/.
func TestGoldenMainViews(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Contoso", 8)
	err := st.UpdateProject("Contoso", func(p *project.Project) error {
		p.Source = project.Endpoint{Type: project.TypeIMAP, Host: "imap.contoso.example", Port: 993, Security: project.SecuritySSL, LoginTemplate: "{user}*{admin}", AdminUser: "master"}
		p.Dest = project.Endpoint{Type: project.TypeEWS, URL: "https://mail.hoster.example/EWS/Exchange.asmx", Access: project.AccessDelegation, Auth: "basic", AdminUser: "admin@hoster.example"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u, w := newTestUI(t, st, Options{})
	w.Resize(fyne.NewSize(1280, 800))
	stepsShown(t, u) // the next-step checklist, read off the UI goroutine
	// Lay the whole window out again at its size, with the checklist in.
	w.Resize(fyne.NewSize(1279, 800))
	w.Resize(fyne.NewSize(1280, 800))
	u.tabs.SelectIndex(0)
	test.AssertRendersToImage(t, "endpoints.png", w.Canvas())
	u.tabs.SelectIndex(1)
	test.AssertRendersToImage(t, "users.png", w.Canvas())
}
