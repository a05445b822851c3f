package gui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// luminance is the WCAG 2.x relative luminance of c (alpha ignored: every
// colour measured here is opaque).
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG contrast ratio of a and b (1 to 21).
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastFormula(t *testing.T) {
	black, white := color.NRGBA{A: 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	if r := contrast(black, white); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white %.2f, want 21", r)
	}
	// #767676 on white is the well-known 4.54:1.
	if r := contrast(color.NRGBA{0x76, 0x76, 0x76, 0xff}, white); math.Abs(r-4.54) > 0.01 {
		t.Errorf("#767676 on white %.2f, want 4.54", r)
	}
}

// Every theme colour drawn as text reaches WCAG AA (4.5:1) on each surface
// it is drawn on, in both variants; outlines (the unchecked tick box,
// entries) and disabled controls reach 3:1 (WCAG 1.4.11).
func TestThemeContrast(t *testing.T) {
	th := newAppTheme()
	surfaces := []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameHeaderBackground, theme.ColorNameOverlayBackground}
	type pair struct {
		fg  fyne.ThemeColorName
		bgs []fyne.ThemeColorName
		min float64
	}
	pairs := []pair{
		{theme.ColorNameForeground, append(surfaces, theme.ColorNameInputBackground, theme.ColorNameMenuBackground, theme.ColorNameButton), 4.5},
		{theme.ColorNamePlaceHolder, []fyne.ThemeColorName{theme.ColorNameInputBackground}, 4.5},
		{theme.ColorNamePrimary, surfaces, 4.5},
		{theme.ColorNameHyperlink, surfaces, 4.5},
		{theme.ColorNameSuccess, surfaces, 4.5},
		{theme.ColorNameWarning, surfaces, 4.5},
		{theme.ColorNameError, surfaces, 4.5},
		{theme.ColorNameForegroundOnPrimary, []fyne.ThemeColorName{theme.ColorNamePrimary}, 4.5},
		{theme.ColorNameForegroundOnError, []fyne.ThemeColorName{theme.ColorNameError}, 4.5},
		{theme.ColorNameForegroundOnSuccess, []fyne.ThemeColorName{theme.ColorNameSuccess}, 4.5},
		{theme.ColorNameForegroundOnWarning, []fyne.ThemeColorName{theme.ColorNameWarning}, 4.5},
		{theme.ColorNameInputBorder, []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameInputBackground}, 3},
		{theme.ColorNameDisabled, []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameDisabledButton}, 3},
	}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		for _, p := range pairs {
			for _, bg := range p.bgs {
				r := contrast(th.Color(p.fg, v), th.Color(bg, v))
				if r < p.min {
					t.Errorf("variant %d: %s on %s is %.2f:1, want at least %.1f:1", v, p.fg, bg, r, p.min)
				}
			}
		}
	}
}

// No hint or status text on any tab is a LowImportance label: Fyne draws
// those in the disabled colour, meant for inactive controls (it measured
// 1.3:1 in the light theme).
func TestNoTextInTheDisabledColour(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	var walk func(o fyne.CanvasObject, tab string)
	walk = func(o fyne.CanvasObject, tab string) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Label:
			if x.Importance == widget.LowImportance && x.Text != "" {
				t.Errorf("%s tab: %q is drawn in the disabled colour", tab, x.Text)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c, tab)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c, tab)
			}
		}
	}
	for i, item := range u.tabs.Items {
		u.tabs.SelectIndex(i)
		walk(w.Content(), item.Text)
	}
}
