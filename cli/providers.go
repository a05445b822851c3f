package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
)

// The providers command edits the Hosted Exchange provider catalog: the
// embedded one merged with the user's file <UserConfigDir>/MailFerry/
// providers.json (core/providers). add and remove change the user file
// only: add creates or replaces the user entry of that name (which
// overrides a built-in provider of the same name); remove deletes the
// user entry, or, for a built-in provider, adds a "hidden" entry that
// hides it. list prints the merged catalog; bad entries of either file are
// reported on stderr (as "errors" with --json) and left out.
const providersUsage = `  mailferry providers list [--json]
  mailferry providers add --name N (--ews-url URL | --owa-url URL | --graph [--cloud C]) [--notes TEXT]
  mailferry providers remove --name N
`

func init() {
	register("providers", providersUsage, func(e *env, args []string) error {
		return subcommand(e, args, providersUsage, map[string]func(*env, []string) error{
			"list":   providersList,
			"add":    providersAdd,
			"remove": providersRemove,
		})
	})
	// List the verb right after "endpoint" in the top-level usage.
	for i, v := range verbOrder {
		if v == "endpoint" {
			verbOrder = append(verbOrder[:i+1], append([]string{"providers"}, verbOrder[i+1:]...)...)
			return
		}
	}
	verbOrder = append(verbOrder, "providers")
}

type providerView struct {
	Name   string           `json:"name"`
	Type   string           `json:"type"`            // ews or graph (Microsoft 365)
	Cloud  string           `json:"cloud,omitempty"` // graph only
	URL    string           `json:"url"`
	EWSURL string           `json:"ews_url,omitempty"`
	OWAURL string           `json:"owa_url,omitempty"`
	Notes  string           `json:"notes,omitempty"`
	Origin providers.Origin `json:"origin"`
}

type providersListView struct {
	UserFile  string         `json:"user_file"`
	Providers []providerView `json:"providers"`
	Errors    []string       `json:"errors"`
}

func providersList(e *env, args []string) error {
	fs := e.newFlags("providers list", true)
	if _, err := parse(fs, args, providersUsage, 0, 0); err != nil {
		return err
	}
	c, errs := providers.Load("")
	v := providersListView{UserFile: c.Path, Providers: []providerView{}, Errors: []string{}}
	for _, it := range c.Items {
		typ := providers.TypeEWS
		if it.Graph {
			typ = providers.TypeGraph
		}
		v.Providers = append(v.Providers, providerView{Name: it.Name, Type: typ, Cloud: it.Cloud, URL: it.URL, EWSURL: it.EWSURL,
			OWAURL: it.OWAURL, Notes: it.Notes, Origin: it.Origin})
	}
	for _, err := range errs {
		v.Errors = append(v.Errors, err.Error())
	}
	if e.json {
		return writeJSON(e.stdout, v)
	}
	for _, s := range v.Errors {
		fmt.Fprintf(e.stderr, "warning: %s\n", s)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tORIGIN\tEWS URL")
	for _, p := range v.Providers {
		u := p.URL
		if p.Type == providers.TypeGraph {
			u = "Microsoft Graph (--type graph --cloud " + p.Cloud + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Origin, u)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write list: %w", err)
	}
	fmt.Fprintf(e.stdout, "user catalog: %s\n", dash(c.Path))
	return nil
}

// flagOfField names the flag of a providers.Entry validation field.
var flagOfField = map[string]string{"name": "--name", "ews_url": "--ews-url", "owa_url": "--owa-url", "cloud": "--cloud", "type": "--graph"}

func providersAdd(e *env, args []string) error {
	fs := e.newFlags("providers add", false)
	var (
		name  = fs.String("name", "", "provider name")
		ewsU  = fs.String("ews-url", "", "EWS URL (https://host/EWS/Exchange.asmx)")
		owaU  = fs.String("owa-url", "", "OWA URL (https://host/owa)")
		notes = fs.String("notes", "", "notes shown when the provider is picked")
		isG   = fs.Bool("graph", false, "a Microsoft 365 entry: it leads to the Graph destination (no URL)")
		cloud = fs.String("cloud", "", "Microsoft cloud of a --graph entry: global, usgov, usgov-dod or china")
	)
	if _, err := parse(fs, args, providersUsage, 0, 0); err != nil {
		return err
	}
	set := given(fs)
	if !set["name"] {
		return usagef(providersUsage, "--name is required")
	}
	if n := btoi(set["ews-url"]) + btoi(set["owa-url"]) + btoi(*isG); n != 1 {
		return usagef(providersUsage, "give one of --ews-url, --owa-url or --graph")
	}
	if set["cloud"] && !*isG {
		return usagef(providersUsage, "--cloud goes with --graph")
	}
	ent := providers.Entry{Name: strings.TrimSpace(*name), EWSURL: strings.TrimSpace(*ewsU),
		OWAURL: strings.TrimSpace(*owaU), Notes: strings.TrimSpace(*notes)}
	if *isG {
		ent.Type, ent.Cloud = providers.TypeGraph, strings.ToLower(strings.TrimSpace(*cloud))
		if ent.Cloud == "" {
			ent.Cloud = "global"
		}
	}
	if err := ent.Validate(); err != nil {
		for _, fe := range flatten(err) {
			var f *project.FieldError
			if errors.As(fe, &f) {
				fmt.Fprintf(e.stderr, "invalid: %s: %s\n", flagOfField[f.Field], f.Reason)
			} else {
				fmt.Fprintf(e.stderr, "invalid: %v\n", fe)
			}
		}
		return errReported
	}
	before, _ := providers.Load("")
	verb := "added"
	if it, ok := before.Find(ent.Name); ok && it.Origin != providers.Builtin {
		verb = "updated"
	}
	if err := providers.Put("", "", ent); err != nil {
		return fmt.Errorf("provider %q: %w", ent.Name, err)
	}
	c, _ := providers.Load("")
	it, _ := c.Find(ent.Name)
	if it.Origin == providers.Override {
		verb += " (overrides the built-in provider)"
	}
	u := it.URL
	if it.Graph {
		u = "Microsoft Graph, cloud " + it.Cloud
	}
	fmt.Fprintf(e.stdout, "provider %q %s: %s\n", ent.Name, verb, u)
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func providersRemove(e *env, args []string) error {
	fs := e.newFlags("providers remove", false)
	name := fs.String("name", "", "provider name")
	if _, err := parse(fs, args, providersUsage, 0, 0); err != nil {
		return err
	}
	n := strings.TrimSpace(*name)
	if n == "" {
		return usagef(providersUsage, "--name is required")
	}
	what, err := providers.Remove("", n)
	switch {
	case errors.Is(err, providers.ErrAlreadyHidden):
		return fmt.Errorf("%w (providers add --name %q with a URL adds your own entry of that name)", err, n)
	case err != nil:
		return err
	}
	switch what {
	case providers.RemovedUser:
		fmt.Fprintf(e.stdout, "provider %q removed\n", n)
	case providers.RemovedOverride:
		fmt.Fprintf(e.stdout, "provider %q removed; the built-in entry of that name is used again\n", n)
	case providers.HidBuiltin:
		fmt.Fprintf(e.stdout, "built-in provider %q hidden\n", n)
	}
	return nil
}
