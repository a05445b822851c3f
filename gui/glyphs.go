package gui

// Marks used in texts. Fyne's theme font (Noto Sans, Latin subset) has no
// arrows, check marks or geometric shapes: a missing glyph is taken from the
// system's fonts, and where none has it (Wine's fonts, a bare Windows
// install) a replacement box is drawn instead. So every text in gui/ uses
// only glyphs of the theme font; TestTextsUseThemeFontGlyphs checks each
// string literal of the package.
const (
	markTo   = "»"    // "source » destination"
	markOK   = "OK  " // a passed step (same width as markFail in monospace)
	markFail = "FAIL" // a failed step
)
