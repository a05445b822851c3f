package ewsemu

import "testing"

func TestPageOf(t *testing.T) {
	for _, c := range []struct {
		total    int
		view     *indexedView
		limit    int
		bounds   [2]int
		next     int
		complete bool
	}{
		{10, nil, 1000, [2]int{0, 10}, 10, true},
		{10, nil, 4, [2]int{0, 4}, 4, false},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 8}, 1000, [2]int{8, 10}, 10, true},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 12}, 1000, [2]int{10, 10}, 10, true},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 0, BasePoint: "End"}, 1000, [2]int{6, 10}, 4, false},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 8, BasePoint: "End"}, 1000, [2]int{0, 2}, 10, true},
		{0, &indexedView{MaxEntriesReturned: 4}, 1000, [2]int{0, 0}, 0, true},
	} {
		b, n, last := pageOf(c.total, c.view, c.limit)
		if b != c.bounds || n != c.next || last != c.complete {
			t.Errorf("pageOf(%d, %+v, %d) = %v %d %t, want %v %d %t", c.total, c.view, c.limit, b, n, last, c.bounds, c.next, c.complete)
		}
	}
}

func TestExtendedPropertyKeys(t *testing.T) {
	for _, c := range []struct {
		uri  extFieldURI
		want string
	}{
		{extFieldURI{PropertyTag: "0x0E07", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertyTag: "3591", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertyTag: "0x0E070003", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertySetID: "{6B1F3A52-3C8E-4A57-9E0B-2F4A8D1C7E90}", PropertyName: "K", PropertyType: "String"}, "guid:6b1f3a52-3c8e-4a57-9e0b-2f4a8d1c7e90/name:K"},
		{extFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "K", PropertyType: "String"}, "guid:00020329-0000-0000-c000-000000000046/name:K"},
		{extFieldURI{PropertySetID: "00020329-0000-0000-C000-000000000046", PropertyName: "K", PropertyType: "String"}, "guid:00020329-0000-0000-c000-000000000046/name:K"},
		{extFieldURI{DistinguishedPropertySetID: "Common", PropertyID: "0x8503", PropertyType: "Boolean"}, "guid:00062008-0000-0000-c000-000000000046/id:34051"},
	} {
		if got, ok := c.uri.key(); !ok || got != c.want {
			t.Errorf("%+v: %q %t, want %q", c.uri, got, ok, c.want)
		}
	}
	for _, bad := range []extFieldURI{
		{PropertyName: "K", PropertyType: "String"},
		{PropertyTag: "0x0E07", PropertySetID: "00020329-0000-0000-C000-000000000046", PropertyType: "Integer"},
		{DistinguishedPropertySetID: "Common", PropertyName: "K", PropertyID: "1", PropertyType: "String"},
	} {
		if _, ok := bad.key(); ok {
			t.Errorf("invalid combination accepted: %+v", bad)
		}
	}
}
