package gui

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
)

// TestTextsUseThemeFontGlyphs checks that every character of every string
// literal in gui/ (labels, buttons, menus, dialogs, formats) has a glyph in
// the theme's regular and bold fonts, so no text depends on the system's
// fonts: under Wine, or on a Windows without Segoe UI Symbol, a missing
// glyph is drawn as a replacement box (the "→" of the project summary line
// was one).
func TestTextsUseThemeFontGlyphs(t *testing.T) {
	fonts := map[string]*font.Face{}
	for _, res := range []fyne.Resource{theme.DefaultTextFont(), theme.DefaultTextBoldFont()} {
		f, err := font.ParseTTF(bytes.NewReader(res.Content()))
		if err != nil {
			t.Fatalf("parse %s: %v", res.Name(), err)
		}
		fonts[res.Name()] = f
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literals := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
				return true
			}
			literals++
			for _, r := range s {
				if unicode.IsControl(r) {
					continue // \n, \t, and map-key separators: never drawn
				}
				for fname, f := range fonts {
					if _, ok := f.NominalGlyph(r); !ok {
						t.Errorf("%s: %q (%U) in %q has no glyph in the theme font %s: use one it has (see glyphs.go)",
							fset.Position(lit.Pos()), r, r, s, fname)
					}
				}
			}
			return true
		})
	}
	if literals < 100 {
		t.Fatalf("only %d string literals found in gui/: is the test running in the package directory?", literals)
	}
}
