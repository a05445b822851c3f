package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// appTheme is Fyne's default theme with colours that meet WCAG AA in both
// variants (TestThemeContrast measures them): text 4.5:1 on the surfaces
// it is drawn on, tick box and entry outlines and disabled controls 3:1.
// Fyne's own light success, warning and placeholder colours, its primary
// blue in both variants and its outline and disabled greys are too pale.
//
// Disabled stays the colour of inactive controls only (WCAG exempts them);
// hints are italic text in the foreground colour, never LowImportance
// labels, which Fyne draws in the disabled colour.
type appTheme struct{ fyne.Theme }

func newAppTheme() fyne.Theme { return appTheme{theme.DefaultTheme()} }

var themeColors = map[fyne.ThemeVariant]map[fyne.ThemeColorName]color.Color{
	theme.VariantLight: {
		theme.ColorNameSuccess:     color.NRGBA{0x1b, 0x7e, 0x2a, 0xff},
		theme.ColorNameWarning:     color.NRGBA{0xa3, 0x52, 0x00, 0xff},
		theme.ColorNameError:       color.NRGBA{0xc6, 0x28, 0x28, 0xff},
		theme.ColorNamePrimary:     color.NRGBA{0x1a, 0x5f, 0xd8, 0xff},
		theme.ColorNameHyperlink:   color.NRGBA{0x1a, 0x5f, 0xd8, 0xff},
		theme.ColorNamePlaceHolder: color.NRGBA{0x6b, 0x6b, 0x6b, 0xff},
		theme.ColorNameInputBorder: color.NRGBA{0x85, 0x85, 0x85, 0xff},
		theme.ColorNameDisabled:    color.NRGBA{0x8c, 0x8c, 0x8c, 0xff},
	},
	theme.VariantDark: {
		theme.ColorNamePrimary:             color.NRGBA{0x5c, 0x9a, 0xff, 0xff},
		theme.ColorNameHyperlink:           color.NRGBA{0x5c, 0x9a, 0xff, 0xff},
		theme.ColorNameForegroundOnPrimary: color.NRGBA{0x17, 0x17, 0x18, 0xff},
		theme.ColorNameInputBorder:         color.NRGBA{0x70, 0x70, 0x70, 0xff},
		theme.ColorNameDisabled:            color.NRGBA{0x75, 0x75, 0x75, 0xff},
	},
}

func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if c, ok := themeColors[v][n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}
