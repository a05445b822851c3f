package mailbox

import (
	"reflect"
	"testing"
)

func TestChunks(t *testing.T) {
	sizes := map[int]int64{1: 4, 2: 4, 3: 10, 4: 1, 5: 1, 6: 1}
	size := func(i int) (int64, bool) { s, ok := sizes[i]; return s, ok }
	// 7 has no size and is left out; 3 is bigger than maxBytes and alone;
	// 4, 5, 6 fit the bytes but not the count.
	got := Chunks([]int{1, 2, 7, 3, 4, 5, 6}, 2, 8, size)
	want := [][]int{{1, 2}, {3}, {4, 5}, {6}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Chunks = %v, want %v", got, want)
	}
	if got := Chunks(nil, 2, 8, size); got != nil {
		t.Fatalf("Chunks(nil) = %v, want nil", got)
	}
}
