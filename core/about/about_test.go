package about

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The version is FyneApp.toml's, so the About dialog and the packaged
// app never disagree.
func TestVersionIsFyneAppVersion(t *testing.T) {
	data, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Version = "([^"]+)"`).FindSubmatch(data)
	if m == nil || string(m[1]) != Version {
		t.Fatalf("FyneApp.toml version %q, about.Version %q", m, Version)
	}
	if !strings.Contains(string(data), `Website = "`+Website+`"`) {
		t.Errorf("FyneApp.toml's Website is not %s", Website)
	}
}

// Every Help link points at a heading the README has.
func TestHelpLinksNameReadmeHeadings(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	anchors := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "#"); ok {
			anchors[Anchor(strings.TrimSpace(strings.TrimLeft(h, "#")))] = true
		}
	}
	for _, l := range HelpLinks() {
		a := l.URL[strings.LastIndexByte(l.URL, '#')+1:]
		if !anchors[a] {
			t.Errorf("%s: no README heading has the anchor %q", l.Title, a)
		}
	}
	if got := Anchor("Setting up Exchange Online (once per tenant)"); got != "setting-up-exchange-online-once-per-tenant" {
		t.Errorf("anchor %q", got)
	}
}

// The licence list names exactly go.mod's direct requirements.
func TestComponentsAreGoModRequirements(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var direct []string
	inRequire := false
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "require (":
			inRequire = true
		case l == ")":
			inRequire = false
		case inRequire && l != "" && !strings.Contains(l, "// indirect"):
			direct = append(direct, strings.Fields(l)[0])
		}
	}
	var listed []string
	for _, c := range Components {
		listed = append(listed, c.Module)
		if c.Licence == "" {
			t.Errorf("%s: no licence", c.Module)
		}
	}
	slices.Sort(direct)
	slices.Sort(listed)
	if !slices.Equal(direct, listed) {
		t.Fatalf("go.mod requires %q,\nComponents lists %q", direct, listed)
	}
}

func TestFolderURL(t *testing.T) {
	u := FolderURL("/home/ann/.config/MailFerry/logs")
	if u.String() != "file:///home/ann/.config/MailFerry/logs" {
		t.Fatalf("%s", u)
	}
}
