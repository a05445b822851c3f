package ewsemu

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// searchExpr is a t:Restriction / t:Not / t:And / t:Or body: the listed
// expressions, combined by the container (Restriction, And: all; Or: any;
// Not: none).
type searchExpr struct {
	Exists                 []pathHolder   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Exists"`
	IsEqualTo              []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsEqualTo"`
	IsNotEqualTo           []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsNotEqualTo"`
	IsGreaterThan          []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsGreaterThan"`
	IsGreaterThanOrEqualTo []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsGreaterThanOrEqualTo"`
	IsLessThan             []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsLessThan"`
	IsLessThanOrEqualTo    []compareExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsLessThanOrEqualTo"`
	Contains               []containsExpr `xml:"http://schemas.microsoft.com/exchange/services/2006/types Contains"`
	Not                    []searchExpr   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Not"`
	And                    []searchExpr   `xml:"http://schemas.microsoft.com/exchange/services/2006/types And"`
	Or                     []searchExpr   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Or"`
}

type pathHolder struct{ Path pathSpec }

func (p *pathHolder) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ps, err := decodePath(d, t)
			if err != nil {
				return err
			}
			p.Path = ps
		case xml.EndElement:
			return nil
		}
	}
}

type compareExpr struct {
	Path     pathSpec
	Constant string
	HasConst bool
}

func (c *compareExpr) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "FieldURIOrConstant" {
				var v struct {
					Constant *struct {
						Value string `xml:"Value,attr"`
					} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Constant"`
				}
				if err := d.DecodeElement(&v, &t); err != nil {
					return err
				}
				if v.Constant != nil {
					c.Constant, c.HasConst = v.Constant.Value, true
				}
				continue
			}
			ps, err := decodePath(d, t)
			if err != nil {
				return err
			}
			c.Path = ps
		case xml.EndElement:
			return nil
		}
	}
}

type containsExpr struct {
	Mode       string
	Comparison string
	Path       pathSpec
	Constant   string
}

func (c *containsExpr) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	c.Mode, c.Comparison = attr(start, "ContainmentMode"), attr(start, "ContainmentComparison")
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Constant" {
				c.Constant = attr(t, "Value")
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			ps, err := decodePath(d, t)
			if err != nil {
				return err
			}
			c.Path = ps
		case xml.EndElement:
			return nil
		}
	}
}

// propGetter returns a property's value as text; present is false when the
// object does not have it. An error means the path is not supported.
type propGetter func(p pathSpec) (val string, present bool, err error)

// eval reports whether an object matches every expression in e (all=true)
// or any of them (all=false).
func (e *searchExpr) eval(get propGetter, all bool) (bool, error) {
	var results []bool
	add := func(ok bool) { results = append(results, ok) }
	for _, x := range e.Exists {
		_, present, err := get(x.Path)
		if err != nil {
			return false, err
		}
		add(present)
	}
	cmp := func(list []compareExpr, want func(int) bool) error {
		for _, x := range list {
			if !x.HasConst {
				return fmt.Errorf("only constant comparisons are supported")
			}
			v, present, err := get(x.Path)
			if err != nil {
				return err
			}
			add(present && want(compareValues(v, x.Constant)))
		}
		return nil
	}
	for _, c := range []struct {
		list []compareExpr
		want func(int) bool
	}{
		{e.IsEqualTo, func(c int) bool { return c == 0 }},
		{e.IsNotEqualTo, func(c int) bool { return c != 0 }},
		{e.IsGreaterThan, func(c int) bool { return c > 0 }},
		{e.IsGreaterThanOrEqualTo, func(c int) bool { return c >= 0 }},
		{e.IsLessThan, func(c int) bool { return c < 0 }},
		{e.IsLessThanOrEqualTo, func(c int) bool { return c <= 0 }},
	} {
		if err := cmp(c.list, c.want); err != nil {
			return false, err
		}
	}
	for _, x := range e.Contains {
		v, present, err := get(x.Path)
		if err != nil {
			return false, err
		}
		a, b := v, x.Constant
		if strings.Contains(x.Comparison, "IgnoreCase") {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		var m bool
		switch x.Mode {
		case "FullString":
			m = a == b
		case "Prefixed", "PrefixOnWords":
			m = strings.HasPrefix(a, b)
		default:
			m = strings.Contains(a, b)
		}
		add(present && m)
	}
	for _, n := range e.Not {
		r, err := n.eval(get, true)
		if err != nil {
			return false, err
		}
		add(!r)
	}
	for _, n := range e.And {
		r, err := n.eval(get, true)
		if err != nil {
			return false, err
		}
		add(r)
	}
	for _, n := range e.Or {
		r, err := n.eval(get, false)
		if err != nil {
			return false, err
		}
		add(r)
	}
	if all {
		for _, r := range results {
			if !r {
				return false, nil
			}
		}
		return true, nil
	}
	for _, r := range results {
		if r {
			return true, nil
		}
	}
	return false, nil
}

// compareValues compares as times, then integers, then case-insensitive
// strings (Exchange compares strings in restrictions case-insensitively).
func compareValues(a, b string) int {
	if ta, err := time.Parse(time.RFC3339, a); err == nil {
		if tb, err := time.Parse(time.RFC3339, b); err == nil {
			return ta.Compare(tb)
		}
	}
	if ia, err := strconv.ParseInt(a, 10, 64); err == nil {
		if ib, err := strconv.ParseInt(b, 10, 64); err == nil {
			switch {
			case ia < ib:
				return -1
			case ia > ib:
				return 1
			}
			return 0
		}
	}
	if strings.EqualFold(a, b) {
		return 0
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}
