package connect

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	provcat "github.com/mailferry/mailferry/core/providers"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// A provider the user added to their catalog file resolves without a
// restart, and one they hid no longer does.
func TestEWSDestResolvesUserCatalogProvider(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	st := kit.Store(t)
	u := project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}
	p := project.Project{Name: "P", Dest: project.Endpoint{Type: project.TypeEWS, Provider: "my hoster",
		AdminUser: "admin", PasswordRef: kit.Seal(t, st, "pw")}}
	ctx := context.Background()
	if d, err := OpenDest(ctx, st, p, u); err == nil {
		d.Close()
		t.Fatal("a provider missing from the catalog was accepted")
	}
	c, _ := provcat.Load("")
	builtin := c.Items[0].Name
	if err := provcat.Save("", []provcat.Entry{
		{Name: "My Hoster", OWAURL: "https://mail.myhoster.example/owa"},
		{Name: builtin, Hidden: true},
	}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDest(ctx, st, p, u)
	if err != nil {
		t.Fatalf("user provider: %v", err)
	}
	defer d.Close()
	if got := d.(interface{ URL() string }).URL(); got != "https://mail.myhoster.example/EWS/Exchange.asmx" {
		t.Fatalf("URL %q", got)
	}
	p.Dest.Provider = builtin
	if d, err := OpenDest(ctx, st, p, u); err == nil {
		d.Close()
		t.Fatalf("hidden provider %q still resolves", builtin)
	}
}
