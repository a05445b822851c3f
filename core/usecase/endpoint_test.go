package usecase

import (
	"errors"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func newStore(t *testing.T, projects ...string) *store.Store {
	t.Helper()
	// The provider catalog reads the user's providers.json: keep it private.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	st := kit.Store(t)
	for _, name := range projects {
		if err := st.CreateProject(project.Project{Name: name, Options: project.DefaultOptions()}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// secretCount counts the sealed secrets in the database.
func secretCount(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	err := st.Bolt().View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte("secrets")); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	for _, e := range leafErrors(err) {
		var fe *project.FieldError
		if errors.As(e, &fe) {
			out[fe.Field] = fe.Reason
		}
	}
	return out
}

const ewsURL = "https://mail.hoster.example/EWS/Exchange.asmx"

// A plain-http EWS or OWA URL is refused when the endpoint is saved, with
// a message that says to use https, and nothing is sealed.
func TestSaveEndpointRefusesPlainHTTP(t *testing.T) {
	st := newStore(t, "P")
	for _, ep := range []project.Endpoint{
		{Type: project.TypeEWS, URL: "http://mail.hoster.example/EWS/Exchange.asmx", AdminUser: "admin"},
		{Type: project.TypeEWS, OWAURL: "HTTP://mail.hoster.example/owa", AdminUser: "admin"},
	} {
		_, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep, Password: []byte("pw")})
		fe := fieldErrors(err)
		reason := fe["url"] + fe["owa_url"]
		if !strings.Contains(reason, "plain http") || !strings.Contains(reason, "https://") {
			t.Errorf("%+v: %v", ep, err)
		}
		if n := secretCount(t, st); n != 0 {
			t.Errorf("%d secrets sealed for a refused endpoint", n)
		}
	}
	p, _ := st.Project("P")
	if !p.Dest.IsZero() {
		t.Errorf("refused endpoint stored: %+v", p.Dest)
	}
}

// The admin password stays while the admin login stays, goes with a new
// login, and a replaced secret is deleted from the store.
func TestSaveEndpointSecretsFollowTheirLogin(t *testing.T) {
	st := newStore(t, "P")
	ep := project.Endpoint{Type: project.TypeEWS, URL: ewsURL, AdminUser: "admin@hoster.example"}
	save := func(ep project.Endpoint, pw string) project.Endpoint {
		t.Helper()
		c := EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep}
		if pw != "" {
			c.Password = []byte(pw)
		}
		got, err := SaveEndpoint(st, c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := save(ep, "first-pw")
	if b, err := st.Secret(first.PasswordRef); err != nil || string(b) != "first-pw" {
		t.Fatalf("sealed password %q, %v", b, err)
	}
	ep.Access = project.AccessImpersonation
	kept := save(ep, "")
	if kept.PasswordRef != first.PasswordRef {
		t.Errorf("password dropped by a change that kept the login")
	}
	second := save(ep, "second-pw")
	if _, err := st.Secret(first.PasswordRef); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaced password still sealed: %v", err)
	}
	ep.AdminUser = "other@hoster.example"
	moved := save(ep, "")
	if moved.PasswordRef != "" {
		t.Errorf("the old login's password kept for a new login")
	}
	if _, err := st.Secret(second.PasswordRef); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dropped password still sealed: %v", err)
	}
	if n := secretCount(t, st); n != 0 {
		t.Errorf("%d secrets left", n)
	}
}

// A provider name is checked against the catalog (embedded + the user's
// providers.json) and stored in the catalog's spelling.
func TestSaveEndpointProviderFromCatalog(t *testing.T) {
	st := newStore(t, "P")
	cat, _ := providers.Load("")
	if len(cat.Items) == 0 {
		t.Fatal("empty embedded catalog")
	}
	name := ""
	for _, it := range cat.Items {
		if !it.Graph { // Microsoft 365 items are for the Graph destination
			name = it.Name
			break
		}
	}
	ep := project.Endpoint{Type: project.TypeEWS, Provider: strings.ToUpper(name)}
	got, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep})
	if err != nil || got.Provider != name {
		t.Fatalf("saved %q, %v; want %q", got.Provider, err, name)
	}
	ep.Provider = "Nobody Hosting"
	_, err = SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep})
	if r := fieldErrors(err)["provider"]; !strings.Contains(r, "not in the catalog") || !strings.Contains(r, name) {
		t.Errorf("unknown provider: %v", err)
	}
}

// Secrets that do not fit the endpoint are refused before anything is
// sealed.
func TestSaveEndpointRefusesMisplacedSecrets(t *testing.T) {
	st := newStore(t, "P")
	cases := []struct {
		c     EndpointChange
		field string
	}{
		{EndpointChange{Endpoint: project.Endpoint{Type: project.TypeIMAP, Host: "imap.example", Port: 993, Security: project.SecuritySSL}, Password: []byte("pw")}, "admin_user"},
		{EndpointChange{Endpoint: project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c"}, Password: []byte("pw")}, "password"},
		{EndpointChange{Endpoint: project.Endpoint{Type: project.TypeEWS, URL: ewsURL}, Secret: []byte("s")}, "secret"},
		{EndpointChange{Endpoint: project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c"}, Secret: []byte("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")}, "certificate"},
		{EndpointChange{Endpoint: project.Endpoint{Type: project.TypeEWS, URL: ewsURL}}, "source.type"},
	}
	for i, tc := range cases {
		tc.c.Project, tc.c.Side = "P", project.SideDest
		if tc.field == "source.type" {
			tc.c.Side = project.SideSource
		}
		_, err := SaveEndpoint(st, tc.c)
		if _, ok := fieldErrors(err)[tc.field]; !ok {
			t.Errorf("case %d: want a %s error, got %v", i, tc.field, err)
		}
	}
	if n := secretCount(t, st); n != 0 {
		t.Errorf("%d secrets sealed", n)
	}
}

// Microsoft 365 leads to Graph: its catalog entries and EWS URLs on
// Exchange Online are refused for EWS with the retirement explanation; a
// Graph endpoint takes the cloud of its catalog entry.
func TestSaveEndpointMicrosoft365(t *testing.T) {
	st := newStore(t, "P")
	for field, ep := range map[string]project.Endpoint{
		"provider": {Type: project.TypeEWS, Provider: "Microsoft 365 / Exchange Online"},
		"url":      {Type: project.TypeEWS, URL: "https://outlook.office365.com/EWS/Exchange.asmx"},
		"owa_url":  {Type: project.TypeEWS, OWAURL: "https://outlook.office.com/owa"},
	} {
		_, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep})
		if r := fieldErrors(err)[field]; !strings.Contains(r, "Graph destination") || !strings.Contains(r, "1 April 2027") {
			t.Errorf("%s: %v", field, err)
		}
	}
	got, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Secret: []byte("s"),
		Endpoint: project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c", Provider: "microsoft 365 dod (us government)"}})
	if err != nil || got.Cloud != "usgov-dod" || got.Provider != "Microsoft 365 DoD (US Government)" {
		t.Errorf("graph provider: %+v %v", got, err)
	}
	_, err = SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest,
		Endpoint: project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c", Provider: "Rackspace Hosted Exchange"}})
	if r := fieldErrors(err)["provider"]; !strings.Contains(r, "EWS destination") {
		t.Errorf("hosted Exchange as graph: %v", err)
	}
}

// An EWS endpoint finds its server in exactly one way: a second one is
// refused at its field, naming the one already given (the GUI and the
// CLI say the same).
func TestSaveEndpointOneWayToTheServer(t *testing.T) {
	st := newStore(t, "P")
	ep := project.Endpoint{Type: project.TypeEWS, URL: "https://mail.hoster.example/EWS/Exchange.asmx",
		OWAURL: "https://mail.hoster.example/owa", AutodiscoverEmail: "ann@hoster.example"}
	_, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep})
	fe := fieldErrors(err)
	for _, f := range []string{"owa_url", "autodiscover_email"} {
		if !strings.Contains(fe[f], "give only one way to find the server") || !strings.Contains(fe[f], "the EWS URL is already given") {
			t.Errorf("%s: %q", f, fe[f])
		}
	}
	if fe["url"] != "" {
		t.Errorf("the first way is blamed: %q", fe["url"])
	}
	// None at all: the rule names all four.
	_, err = SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: project.Endpoint{Type: project.TypeEWS}})
	if r := fieldErrors(err)["url"]; !strings.Contains(r, "one of EWS URL, OWA URL, Autodiscover email or provider") {
		t.Errorf("none: %v", err)
	}
	// One is fine.
	ep.OWAURL, ep.AutodiscoverEmail = "", ""
	if _, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep}); err != nil {
		t.Errorf("one way: %v", err)
	}
}
