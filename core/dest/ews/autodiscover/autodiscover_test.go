package autodiscover

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

// basicAuth adds credentials, as the ews package's transport does.
type basicAuth struct{ rt http.RoundTripper }

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth("admin", "pw")
	return b.rt.RoundTrip(r)
}

func setup(t *testing.T, down ...string) (*ewsemu.Server, Options) {
	s := ewssrv.Start(t, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "pw", Mailbox: "admin@example.com"}},
		Mailboxes: []string{"ann@example.com"},
		DNSNames:  []string{"example.com", "autodiscover.example.com", "mx1.example.com", "mx2.example.com", "mail.example.com"},
		PlainHTTP: true,
	})
	s.SetPublicURL("https://mail.example.com")
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool()},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			for _, d := range down {
				if host == d {
					return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("refused (test)")}
				}
			}
			target := s.Addr()
			if port == "80" {
				target = strings.TrimPrefix(s.PlainURL(), "http://")
			}
			return (&net.Dialer{}).DialContext(ctx, network, target)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return s, Options{Client: &http.Client{Transport: basicAuth{tr}}, Plain: &http.Client{Transport: tr}}
}

func TestSRVOrderAndFallback(t *testing.T) {
	_, o := setup(t, "example.com", "autodiscover.example.com", "mx1.example.com")
	o.LookupSRV = func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
		if service != "autodiscover" || proto != "tcp" || name != "example.com" {
			t.Errorf("SRV lookup %s %s %s", service, proto, name)
		}
		return "", []*net.SRV{
			{Target: "mx2.example.com.", Port: 443, Priority: 10, Weight: 5},
			{Target: "mx1.example.com.", Port: 443, Priority: 0, Weight: 5},
		}, nil
	}
	res, err := Discover(context.Background(), "ann@example.com", o)
	if err != nil {
		t.Fatalf("%v; attempts %v", err, res.Attempts)
	}
	if res.EWSURL != "https://mail.example.com/EWS/Exchange.asmx" {
		t.Errorf("EWS URL %s", res.EWSURL)
	}
	var got []string
	for _, a := range res.Attempts {
		got = append(got, a.Method+" "+a.URL)
	}
	want := []string{
		"pox-domain https://example.com/autodiscover/autodiscover.xml",
		"pox-autodiscover https://autodiscover.example.com/autodiscover/autodiscover.xml",
		"http-redirect http://autodiscover.example.com/autodiscover/autodiscover.xml",
		"dns-srv https://mx1.example.com/autodiscover/autodiscover.xml",
		"dns-srv https://mx2.example.com/autodiscover/autodiscover.xml",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("attempts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if last := res.Attempts[len(res.Attempts)-1]; !last.OK {
		t.Errorf("last attempt not OK: %v", last)
	}
}

func TestCredentialsOnlyOverHTTPS(t *testing.T) {
	_, o := setup(t)
	for _, u := range []string{"http://example.com/autodiscover/autodiscover.xml"} {
		if _, _, _, err := post(context.Background(), u, "ann@example.com", Options{Client: o.Client, Timeout: 1e9}); err == nil || !strings.Contains(err.Error(), "https only") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestSOAPFallback: a host without POX Autodiscover (404) is asked again
// through SOAP Autodiscover (autodiscover.svc, GetUserSettings).
func TestSOAPFallback(t *testing.T) {
	s, err := ewsemu.NewHandler(ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "pw", Mailbox: "admin@example.com"}},
		Mailboxes: []string{"ann@example.com"},
		DNSNames:  []string{"example.com"},
		PublicURL: "https://mail.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.URL.Path, "/autodiscover/autodiscover.xml") {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	srv.TLS = s.TLSConfig()
	srv.StartTLS()
	defer srv.Close()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool()},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != "example.com" {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("refused (test)")}
			}
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}
	defer tr.CloseIdleConnections()
	res, err := Discover(context.Background(), "ann@example.com", Options{Client: &http.Client{Transport: basicAuth{tr}}})
	if err != nil {
		t.Fatalf("%v; attempts %v", err, res.Attempts)
	}
	if res.EWSURL != "https://mail.example.com/EWS/Exchange.asmx" || len(res.Attempts) != 2 ||
		res.Attempts[0].OK || !res.Attempts[1].OK || res.Attempts[1].Method != MethodSOAPDomain {
		t.Errorf("EWS URL %s, attempts %v", res.EWSURL, res.Attempts)
	}
}
