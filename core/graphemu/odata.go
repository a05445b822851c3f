package graphemu

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Extended property types (Outlook extended properties overview).
var propTypes = map[string]string{}

func init() {
	for _, t := range []string{"Binary", "Boolean", "Currency", "CLSID", "Double", "Float", "Integer", "Long", "Short", "SystemTime", "String"} {
		propTypes[strings.ToLower(t)] = t
	}
}

var guidRE = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// canonPropID validates an extended property id in one of the documented
// formats — "{type} {proptag}", "{type} {guid} Name {name}",
// "{type} {guid} Id {id}" — and returns its canonical spelling (type as
// documented, tag and id as lower-case hex without leading zeros, GUID
// lower-case in braces, name as given: names are case-sensitive).
func canonPropID(id string) (canon, typ string, err error) {
	parts := strings.SplitN(strings.TrimSpace(id), " ", 4)
	if len(parts) < 2 {
		return "", "", fmt.Errorf("extended property id %q is not in a supported format", id)
	}
	typ, ok := propTypes[strings.ToLower(parts[0])]
	if !ok {
		return "", "", fmt.Errorf("extended property id %q has an unknown type %q", id, parts[0])
	}
	hexNum := func(s string) (string, bool) {
		h, ok := strings.CutPrefix(strings.ToLower(s), "0x")
		if !ok {
			return "", false
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return "", false
		}
		return "0x" + strconv.FormatUint(n, 16), true
	}
	switch len(parts) {
	case 2:
		tag, ok := hexNum(parts[1])
		if !ok {
			return "", "", fmt.Errorf("extended property id %q has an invalid property tag", id)
		}
		return typ + " " + tag, typ, nil
	case 4:
		if !guidRE.MatchString(parts[1]) {
			return "", "", fmt.Errorf("extended property id %q has an invalid GUID", id)
		}
		g := "{" + strings.ToLower(strings.Trim(parts[1], "{}")) + "}"
		switch strings.ToLower(parts[2]) {
		case "name":
			if parts[3] == "" {
				return "", "", fmt.Errorf("extended property id %q has an empty name", id)
			}
			return typ + " " + g + " Name " + parts[3], typ, nil
		case "id":
			n, ok := hexNum(parts[3])
			if !ok {
				return "", "", fmt.Errorf("extended property id %q has an invalid id", id)
			}
			return typ + " " + g + " Id " + n, typ, nil
		}
	}
	return "", "", fmt.Errorf("extended property id %q is not in a supported format", id)
}

// checkPropValue validates a value for its type.
func checkPropValue(typ, v string) error {
	var err error
	switch typ {
	case "Integer", "Short":
		_, err = strconv.ParseInt(v, 10, 32)
	case "Long", "Currency":
		_, err = strconv.ParseInt(v, 10, 64)
	case "Double", "Float":
		_, err = strconv.ParseFloat(v, 64)
	case "Boolean":
		_, err = strconv.ParseBool(v)
	case "SystemTime":
		_, err = time.Parse(time.RFC3339, v)
	}
	return err
}

// propFilter is the parsed documented $filter form
// singleValueExtendedProperties/Any(ep: ep/id eq 'ID' and <value test>),
// possibly several joined with "or".
type propFilter []propTerm

type propTerm struct {
	id   string // canonical
	op   string // eq, ne, startswith, contains
	want string
}

func (f propFilter) match(m *Message) bool {
	for _, t := range f {
		v, ok := m.ExtendedProperties[t.id]
		if !ok {
			continue
		}
		lv, lw := strings.ToLower(v), strings.ToLower(t.want) // value filters are case-insensitive
		switch t.op {
		case "eq":
			if lv == lw {
				return true
			}
		case "ne":
			if lv != lw {
				return true
			}
		case "startswith":
			if strings.HasPrefix(lv, lw) {
				return true
			}
		case "contains":
			if strings.Contains(lv, lw) {
				return true
			}
		case "":
			return true
		}
	}
	return false
}

var (
	anyRE = regexp.MustCompile(`(?i)^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(.*)\)$`)
	strRE = `'((?:[^']|'')*)'`
)

func badFilter(format string, a ...any) *graphError {
	return gerr(http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes: %s", fmt.Sprintf(format, a...))
}

// parsePropFilter parses the $filter forms documented for extended
// properties. Anything else is refused (Exchange Online refuses filters it
// cannot run, too).
func parsePropFilter(s string) (propFilter, *graphError) {
	var out propFilter
	for _, clause := range splitTopLevel(s, " or ") {
		clause = strings.TrimSpace(clause)
		for strings.HasPrefix(clause, "(") && strings.HasSuffix(clause, ")") && balanced(clause[1:len(clause)-1]) {
			clause = strings.TrimSpace(clause[1 : len(clause)-1])
		}
		m := anyRE.FindStringSubmatch(clause)
		if m == nil {
			return nil, badFilter("unsupported filter %q", clause)
		}
		v := regexp.QuoteMeta(m[1])
		idRE := regexp.MustCompile(`(?i)^` + v + `/id\s+eq\s+` + strRE + `$`)
		conds := splitTopLevel(m[2], " and ")
		if len(conds) < 1 || len(conds) > 2 {
			return nil, badFilter("unsupported lambda %q", m[2])
		}
		im := idRE.FindStringSubmatch(strings.TrimSpace(conds[0]))
		if im == nil {
			return nil, badFilter("the lambda must start with %s/id eq '...'", m[1])
		}
		canon, _, err := canonPropID(unq(im[1]))
		if err != nil {
			return nil, gerr(http.StatusBadRequest, "ErrorInvalidProperty", "%v", err)
		}
		t := propTerm{id: canon}
		if len(conds) == 2 {
			c := strings.TrimSpace(conds[1])
			cmpRE := regexp.MustCompile(`(?i)^` + v + `/value\s+(eq|ne)\s+` + strRE + `$`)
			fnRE := regexp.MustCompile(`(?i)^(startswith|contains)\(\s*` + v + `/value\s*,\s*` + strRE + `\s*\)$`)
			if cm := cmpRE.FindStringSubmatch(c); cm != nil {
				t.op, t.want = strings.ToLower(cm[1]), unq(cm[2])
			} else if fm := fnRE.FindStringSubmatch(c); fm != nil {
				t.op, t.want = strings.ToLower(fm[1]), unq(fm[2])
			} else {
				return nil, badFilter("unsupported value test %q", c)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func unq(s string) string { return strings.ReplaceAll(s, "''", "'") }

func balanced(s string) bool {
	d, q := 0, false
	for _, r := range s {
		switch {
		case r == '\'':
			q = !q
		case q:
		case r == '(':
			d++
		case r == ')':
			d--
			if d < 0 {
				return false
			}
		}
	}
	return d == 0 && !q
}

// splitTopLevel splits s on sep (case-insensitive) outside quotes and
// parentheses.
func splitTopLevel(s, sep string) []string {
	var out []string
	d, q, start := 0, false, 0
	ls := strings.ToLower(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			q = !q
		case q:
		case c == '(':
			d++
		case c == ')':
			d--
		case d == 0 && strings.HasPrefix(ls[i:], sep):
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// parseExpand parses $expand=singleValueExtendedProperties($filter=id eq
// 'X' [or id eq 'Y'...]); all=true without a filter.
func parseExpand(s string) (ids map[string]bool, all bool, e *graphError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false, nil
	}
	name, rest, hasOpts := strings.Cut(s, "(")
	if !strings.EqualFold(strings.TrimSpace(name), "singleValueExtendedProperties") {
		return nil, false, gerr(http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.message'.", name)
	}
	if !hasOpts {
		return nil, true, nil
	}
	rest = strings.TrimSuffix(strings.TrimSpace(rest), ")")
	f, ok := strings.CutPrefix(rest, "$filter=")
	if !ok {
		return nil, false, gerr(http.StatusBadRequest, "BadRequest", "Unsupported $expand options %q.", rest)
	}
	ids = map[string]bool{}
	re := regexp.MustCompile(`(?i)^id\s+eq\s+` + strRE + `$`)
	for _, c := range splitTopLevel(f, " or ") {
		m := re.FindStringSubmatch(strings.TrimSpace(c))
		if m == nil {
			return nil, false, badFilter("unsupported $expand filter %q", c)
		}
		canon, _, err := canonPropID(unq(m[1]))
		if err != nil {
			return nil, false, gerr(http.StatusBadRequest, "ErrorInvalidProperty", "%v", err)
		}
		ids[canon] = true
	}
	return ids, false, nil
}
