package mailbox

// Chunks cuts items, in order, into runs of at most maxCount items and at
// most maxBytes bytes by size (an item bigger than maxBytes is a run of
// its own). Items size reports as unknown (false) are left out.
func Chunks[T any](items []T, maxCount int, maxBytes int64, size func(T) (int64, bool)) [][]T {
	var out [][]T
	var cur []T
	var n int64
	for _, it := range items {
		sz, ok := size(it)
		if !ok {
			continue
		}
		if len(cur) > 0 && (len(cur) >= maxCount || n+sz > maxBytes) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, it)
		n += sz
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
