package ews

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestURLResolution(t *testing.T) {
	for in, want := range map[string]string{
		"https://mail.host.com/owa":                     "https://mail.host.com/EWS/Exchange.asmx",
		"https://mail.host.com/owa/":                    "https://mail.host.com/EWS/Exchange.asmx",
		"https://mail.host.com/OWA/auth/logon.aspx?x=1": "https://mail.host.com/EWS/Exchange.asmx",
		"https://mail.host.com:8443/owa/#path=/mail":    "https://mail.host.com:8443/EWS/Exchange.asmx",
		"https://mail.host.com":                         "https://mail.host.com/EWS/Exchange.asmx",
		"https://mail.host.com/EWS/Exchange.asmx":       "https://mail.host.com/EWS/Exchange.asmx",
		"https://ex.host.com/custom/ews/exchange.asmx":  "https://ex.host.com/custom/ews/exchange.asmx",
	} {
		got, err := EWSURLFromURL(in)
		if err != nil || got != want {
			t.Errorf("EWSURLFromURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"mail.host.com/owa", "ftp://x/owa", ""} {
		if _, err := EWSURLFromOWA(bad); err == nil {
			t.Errorf("EWSURLFromOWA(%q) accepted", bad)
		}
	}
	if err := checkScheme("http://mail.host.com/EWS/Exchange.asmx", Options{}); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("plain http EWS accepted: %v", err)
	}
}

func TestProviderCatalog(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "assets", "providers.json"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParseProviders(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 3 {
		t.Fatalf("%d providers", len(ps))
	}
	for _, p := range ps {
		u, err := p.URL()
		if err != nil || !strings.HasPrefix(u, "https://") || !strings.HasSuffix(strings.ToLower(u), "/ews/exchange.asmx") {
			t.Errorf("%s: %q %v", p.Name, u, err)
		}
	}
	if _, err := ParseProviders([]byte(`{"providers":[{"name":"x"}]}`)); err == nil {
		t.Error("entry without URL accepted")
	}
}
