package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The trust fingerprint field shows a whole SHA-256 (64 hex characters,
// wider than half the window) over two lines instead of running past its
// border, and a fingerprint pasted with colons, spaces and a line break is
// stored in the normal form.
func TestTrustFingerprintFieldWrapsAndNormalizes(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	w.Resize(fyne.NewSize(1280, 800))
	f := u.endpoints.source
	const fp = "e9a0dcfdb4f01e868edac201d4dbcd5e9842ebb7d8d419508b6fac43f48dbd6e"
	colons := strings.ToUpper(fp[:2])
	for i := 2; i < len(fp); i += 2 {
		colons += ":" + strings.ToUpper(fp[i:i+2])
	}
	f.host.SetText("imap.example.com")
	f.port.SetText("993")
	f.trust.SetText(colons[:48] + "\n " + colons[48:])
	if err := f.saveEndpoint(); err != nil {
		t.Fatalf("save: %v", err)
	}
	if p, _ := st.Project("Alpha"); p.Source.TrustFingerprint != fp {
		t.Errorf("stored fingerprint %q, want %q", p.Source.TrustFingerprint, fp)
	}

	f.trust.SetText(fp)
	line := fyne.MeasureText(fp, theme.TextSize(), fyne.TextStyle{})
	size := f.trust.Size()
	if size.Width >= line.Width {
		t.Fatalf("field %v wide, the fingerprint %v: the test no longer covers a field narrower than the fingerprint", size, line)
	}
	if !f.trust.MultiLine || f.trust.Wrapping != fyne.TextWrapBreak {
		t.Errorf("the fingerprint field does not wrap (multi-line %v, wrapping %v): a single line is cut at its border", f.trust.MultiLine, f.trust.Wrapping)
	}
	if rows := 2 * line.Height; size.Height < rows {
		t.Errorf("field %v high, two lines of text need %v", size, rows)
	}
	if got := project.NormalizeFingerprint(strings.Join(strings.Fields(f.trust.Text), "")); got != fp {
		t.Errorf("field text normalizes to %q", got)
	}
}
