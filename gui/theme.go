package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appTheme is Fyne's default theme with status colours dark enough to read
// on the light background (the default light success green and warning
// orange are too pale for text).
type appTheme struct{ fyne.Theme }

func newAppTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if v == theme.VariantLight {
		switch n {
		case theme.ColorNameSuccess:
			return color.NRGBA{0x1b, 0x7e, 0x2a, 0xff}
		case theme.ColorNameWarning:
			return color.NRGBA{0xb2, 0x5a, 0x00, 0xff}
		case theme.ColorNameError:
			return color.NRGBA{0xc6, 0x28, 0x28, 0xff}
		}
	}
	return t.Theme.Color(n, v)
}
