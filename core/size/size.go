package size

import "fmt"

// Human formats n as "512 B", "20.0 KB", "4.0 MB" or "1.5 GB" (powers of
// 1024, one decimal; GB is the largest unit).
func Human(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KB", "MB", "GB"} {
		if f < 1024 || u == "GB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}
