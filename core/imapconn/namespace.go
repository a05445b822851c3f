package imapconn

import (
	"context"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Namespace kinds (RFC 2342): a folder is in the user's personal
// namespace, in another user's, or in a shared one.
const (
	NamespacePersonal = "personal"
	NamespaceOther    = "other users"
	NamespaceShared   = "shared"
)

// Namespaces is what a server answered to NAMESPACE, cleaned of the odd
// answers real servers give, or what was inferred from its folder list
// when it has no NAMESPACE.
type Namespaces struct {
	Personal, Other, Shared []imap.NamespaceDescriptor
	// Source says where the answer came from: "NAMESPACE", or
	// "inferred from the folder list" / "none" without NAMESPACE.
	Source string
}

// ReadNamespaces asks the server for its namespaces. A server without the
// NAMESPACE capability, or one that refuses the command, yields the zero
// Namespaces with Source "none" (InferNamespaces can then guess).
func (c *Conn) ReadNamespaces(ctx context.Context) (Namespaces, error) {
	if !c.Caps().Has(imap.CapNamespace) && !c.Caps().Has(imap.CapIMAP4rev2) {
		return Namespaces{Source: "none"}, nil
	}
	var data *imap.NamespaceData
	err := c.Run(ctx, "NAMESPACE", func(func()) error {
		var err error
		data, err = c.Client().Namespace().Wait()
		return err
	})
	if _, ok := ServerError(err); ok {
		return Namespaces{Source: "none"}, nil
	}
	if err != nil {
		return Namespaces{}, err
	}
	return CleanNamespaces(*data), nil
}

// CleanNamespaces normalises a NAMESPACE answer: a prefix that does not
// end in its delimiter gets it ("INBOX" with "." is "INBOX."), a
// delimiter that is NIL is taken from a prefix ending in "." or "/", and
// an empty personal prefix is moved after non-empty ones so that the
// longest prefix is tried first.
func CleanNamespaces(d imap.NamespaceData) Namespaces {
	clean := func(in []imap.NamespaceDescriptor) []imap.NamespaceDescriptor {
		var out []imap.NamespaceDescriptor
		for _, n := range in {
			if n.Delim == 0 && n.Prefix != "" {
				if last := n.Prefix[len(n.Prefix)-1]; last == '.' || last == '/' {
					n.Delim = rune(last)
				}
			}
			if n.Prefix != "" && n.Delim != 0 && !strings.HasSuffix(n.Prefix, string(n.Delim)) {
				n.Prefix += string(n.Delim)
			}
			out = append(out, n)
		}
		// Longest prefix first.
		for i := 1; i < len(out); i++ {
			for j := i; j > 0 && len(out[j].Prefix) > len(out[j-1].Prefix); j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
		return out
	}
	return Namespaces{Personal: clean(d.Personal), Other: clean(d.Other), Shared: clean(d.Shared), Source: "NAMESPACE"}
}

// InferNamespaces guesses the personal namespace of a server without
// NAMESPACE from its folder names: when every folder but INBOX is named
// "INBOX<delim>..." (Courier-style stores), the prefix is "INBOX<delim>";
// otherwise it is empty.
func InferNamespaces(names []string, delim rune) Namespaces {
	n := Namespaces{Source: "none"}
	if delim == 0 {
		return n
	}
	prefix := "INBOX" + string(delim)
	others := 0
	for _, name := range names {
		if strings.EqualFold(name, "INBOX") {
			continue
		}
		if !hasPrefixFold(name, prefix) {
			return n
		}
		others++
	}
	if others == 0 {
		return n
	}
	n.Personal = []imap.NamespaceDescriptor{{Prefix: prefix, Delim: delim}}
	n.Source = "inferred from the folder list"
	return n
}

// PersonalPrefix is where new folders go: the longest personal prefix
// (an "INBOX." namespace is preferred over an empty one: a server that
// lists both stores users' folders under INBOX), with its delimiter.
func (n Namespaces) PersonalPrefix() (string, rune) {
	if len(n.Personal) == 0 {
		return "", 0
	}
	return n.Personal[0].Prefix, n.Personal[0].Delim
}

// Split tells which namespace the listed folder name is in and returns
// its path: inside the personal namespace the components after the
// prefix (INBOX is always the personal ["INBOX"]); in other users' and
// shared namespaces the whole name split on the delimiter, so that those
// folders can never merge with personal ones. delim is the delimiter the
// LIST answer gave for name.
func (n Namespaces) Split(name string, delim rune) (kind string, path []string) {
	if strings.EqualFold(name, "INBOX") {
		return NamespacePersonal, []string{"INBOX"}
	}
	split := func(s string, d rune) []string {
		if d == 0 {
			return []string{s}
		}
		return strings.Split(s, string(d))
	}
	best, bestKind := -1, NamespacePersonal
	var bestNS imap.NamespaceDescriptor
	for _, group := range []struct {
		kind string
		ns   []imap.NamespaceDescriptor
	}{{NamespacePersonal, n.Personal}, {NamespaceOther, n.Other}, {NamespaceShared, n.Shared}} {
		for _, ns := range group.ns {
			root := strings.TrimSuffix(ns.Prefix, string(ns.Delim))
			match := ns.Prefix == "" || matchPrefix(name, ns.Prefix) ||
				(group.kind != NamespacePersonal && root != "" && matchPrefix(name, root) && len(name) == len(root))
			if match && len(ns.Prefix) > best {
				best, bestKind, bestNS = len(ns.Prefix), group.kind, ns
			}
		}
	}
	if best < 0 || bestKind != NamespacePersonal {
		return bestKind, split(name, delim)
	}
	rest := name[len(bestNS.Prefix):]
	if rest == "" {
		return NamespacePersonal, split(name, delim)
	}
	d := bestNS.Delim
	if d == 0 {
		d = delim
	}
	return NamespacePersonal, split(rest, d)
}

// matchPrefix compares the INBOX part of a prefix case-insensitively
// (INBOX is case-insensitive in IMAP) and the rest exactly.
func matchPrefix(name, prefix string) bool {
	if hasPrefixFold(prefix, "INBOX") && len(name) >= len(prefix) {
		return strings.EqualFold(name[:5], "INBOX") && name[5:len(prefix)] == prefix[5:]
	}
	return strings.HasPrefix(name, prefix)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Describe is a short human description, e.g. `personal "INBOX." (".")`.
func (n Namespaces) Describe() string {
	var parts []string
	add := func(kind string, ns []imap.NamespaceDescriptor) {
		for _, d := range ns {
			delim := "none"
			if d.Delim != 0 {
				delim = string(d.Delim)
			}
			parts = append(parts, kind+` "`+d.Prefix+`" (separator `+delim+`)`)
		}
	}
	add(NamespacePersonal, n.Personal)
	add(NamespaceOther, n.Other)
	add(NamespaceShared, n.Shared)
	if len(parts) == 0 {
		parts = []string{`personal "" (no NAMESPACE)`}
	}
	s := strings.Join(parts, ", ")
	if n.Source != "" && n.Source != "NAMESPACE" {
		s += "; " + n.Source
	}
	return s
}
