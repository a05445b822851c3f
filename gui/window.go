package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// Window size. Fyne 2.7.1 has no API to read or set a window's position
// (fyne.Window offers only CenterOnScreen; the native handle of
// driver.NativeWindow would need Win32, Cocoa and X11 code of our own), so
// only the size is remembered and the window opens centred.
var (
	// DefaultSize is the window's size on first start: it fits a
	// 1366×768 laptop's usable area (about 1366×728 without the taskbar,
	// less the title bar).
	DefaultSize = fyne.NewSize(1200, 680)
	// MinSize is the smallest window: every tab fits it without clipping.
	MinSize = fyne.NewSize(960, 600)
)

// App preference keys of the window's remembered size.
const (
	prefWidth  = "gui.window.width"
	prefHeight = "gui.window.height"
)

// startSize is the size the window had when it was last closed, else
// DefaultSize; never below MinSize.
func startSize(p fyne.Preferences) fyne.Size {
	w := p.FloatWithFallback(prefWidth, float64(DefaultSize.Width))
	h := p.FloatWithFallback(prefHeight, float64(DefaultSize.Height))
	return fyne.NewSize(float32(w), float32(h)).Max(MinSize)
}

// rememberSize stores the window's current size for the next start.
func (u *UI) rememberSize() {
	s := u.win.Canvas().Size()
	if s.Width < 1 || s.Height < 1 {
		return
	}
	p := u.app.Preferences()
	p.SetFloat(prefWidth, float64(s.Width))
	p.SetFloat(prefHeight, float64(s.Height))
}

// atLeast makes content's minimum size at least min, so the window (whose
// minimum is its content's) cannot shrink below MinSize.
func atLeast(min fyne.Size, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(minLayout{min}, content)
}

type minLayout struct{ min fyne.Size }

func (l minLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l minLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := l.min
	for _, o := range objs {
		m = m.Max(o.MinSize())
	}
	return m
}
