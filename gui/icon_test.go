package gui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"testing"

	"github.com/mailferry/mailferry/assets"
)

// drawIcon draws MailFerry's 256×256 app icon: a white envelope on a blue
// rounded square with an orange arrow carrying it across, anti-aliased by
// 4×4 supersampling.
func drawIcon() *image.NRGBA {
	const n, ss = 256, 4
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue := [3]float64{0x1e, 0x5a, 0xa8}
	white := [3]float64{0xff, 0xff, 0xff}
	flap := [3]float64{0x1e, 0x5a, 0xa8}
	orange := [3]float64{0xf5, 0x8a, 0x1f}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					px := float64(x) + (float64(sx)+0.5)/ss
					py := float64(y) + (float64(sy)+0.5)/ss
					c, ok := iconSample(px, py, blue, white, flap, orange)
					if ok {
						r += c[0]
						g += c[1]
						b += c[2]
						a++
					}
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(a * 255 / ss / ss)})
		}
	}
	return img
}

// iconSample returns the colour at one sample point, ok=false outside.
func iconSample(x, y float64, blue, white, flap, orange [3]float64) ([3]float64, bool) {
	// Rounded square background, 8px margin, radius 44.
	if !inRoundRect(x, y, 8, 8, 248, 248, 44) {
		return [3]float64{}, false
	}
	// Arrow: a thick orange stroke under the envelope, pointing right.
	if segDist(x, y, 40, 196, 190, 196) < 9 || inTriangle(x, y, 186, 172, 186, 220, 222, 196) {
		return orange, true
	}
	// Envelope body.
	if inRoundRect(x, y, 52, 62, 204, 166, 10) {
		// Flap: two lines from the top corners to the centre.
		if segDist(x, y, 58, 68, 128, 122) < 5 || segDist(x, y, 198, 68, 128, 122) < 5 {
			return flap, true
		}
		return white, true
	}
	return blue, true
}

func inRoundRect(x, y, x0, y0, x1, y1, r float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	cx := math.Max(x0+r, math.Min(x, x1-r))
	cy := math.Max(y0+r, math.Min(y, y1-r))
	return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
}

func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((px-ax)*dx + (py-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	qx, qy := ax+t*dx-px, ay+t*dy-py
	return math.Sqrt(qx*qx + qy*qy)
}

func inTriangle(px, py, ax, ay, bx, by, cx, cy float64) bool {
	s := func(x1, y1, x2, y2, x3, y3 float64) float64 { return (x1-x3)*(y2-y3) - (x2-x3)*(y1-y3) }
	d1, d2, d3 := s(px, py, ax, ay, bx, by), s(px, py, bx, by, cx, cy), s(px, py, cx, cy, ax, ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

// TestIcon checks that assets/icon.png is the icon drawIcon draws. Run with
// MAILFERRY_WRITE_ICON=1 to (re)write the file.
func TestIcon(t *testing.T) {
	want := drawIcon()
	if os.Getenv("MAILFERRY_WRITE_ICON") == "1" {
		var buf bytes.Buffer
		if err := png.Encode(&buf, want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../assets/icon.png", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := png.Decode(bytes.NewReader(assets.Icon))
	if err != nil {
		t.Fatalf("decode embedded icon: %v", err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("icon bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	for y := 0; y < 256; y += 3 {
		for x := 0; x < 256; x += 3 {
			r1, g1, b1, a1 := got.At(x, y).RGBA()
			r2, g2, b2, a2 := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("icon pixel (%d,%d) differs from drawIcon: regenerate with MAILFERRY_WRITE_ICON=1", x, y)
			}
		}
	}
}
