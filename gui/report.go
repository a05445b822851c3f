package gui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// reportView shows a step report in monospace with each line's mark
// coloured: markOK in the theme's success colour, markFail in its error
// colour (both AA on the background, theme.go), so a passed and a failed
// step differ in more than their text.
type reportView struct {
	Text string // what is shown, as plain text
	rt   *widget.RichText
}

func newReportView() *reportView {
	r := &reportView{rt: widget.NewRichText()}
	r.rt.Wrapping = fyne.TextWrapWord
	return r
}

// SetText shows s, one report line a line.
func (r *reportView) SetText(s string) {
	r.Text = s
	r.rt.Segments = reportSegments(s)
	r.rt.Refresh()
}

// markColors are the marks that get a colour.
var markColors = []struct {
	mark  string
	color fyne.ThemeColorName
}{{markOK, theme.ColorNameSuccess}, {markFail, theme.ColorNameError}}

// reportSegments splits s into lines, a line's leading mark (after any
// indent) a segment of its own in the mark's colour.
func reportSegments(s string) []widget.RichTextSegment {
	if s == "" {
		return nil
	}
	mono := fyne.TextStyle{Monospace: true}
	var segs []widget.RichTextSegment
	for _, line := range strings.Split(s, "\n") {
		body := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(body)]
		for _, m := range markColors {
			if strings.HasPrefix(body, m.mark) {
				segs = append(segs, &widget.TextSegment{Text: indent + m.mark,
					Style: widget.RichTextStyle{ColorName: m.color, Inline: true, TextStyle: mono}})
				body, indent = body[len(m.mark):], ""
				break
			}
		}
		segs = append(segs, &widget.TextSegment{Text: indent + body, Style: widget.RichTextStyle{TextStyle: mono}})
	}
	return segs
}
