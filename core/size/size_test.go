package size

import "testing"

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KB"}, {20 << 10, "20.0 KB"}, {1536, "1.5 KB"},
		{4 << 20, "4.0 MB"}, {50<<20 + 50<<10, "50.0 MB"}, {3 << 30, "3.0 GB"}, {5 << 40, "5120.0 GB"},
	} {
		if got := Human(c.n); got != c.want {
			t.Errorf("Human(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
