package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

const projectUsage = `  mailferry project create NAME [--customer C]
  mailferry project list [--json]
  mailferry project show NAME [--json]
  mailferry project delete NAME
  mailferry project rename NAME NEWNAME
  mailferry project set NAME [--customer C] [--max-concurrent-users N] [--max-errors-per-user N]
        [--folder-mapping 'REGEX->REPLACEMENT' ...] [--clear-folder-mapping] [--folder-filter REGEX]
        [--max-item-size-mb N] [--prestage-days N] [--date-from YYYY-MM-DD] [--date-to YYYY-MM-DD]
        [--include-shared-folders[=false]]
  mailferry project export NAME FILE [--with-secrets --passphrase-env VAR | --passphrase-stdin]
        (FILE "-" = standard output; passwords are only exported encrypted with a passphrase
        of at least 8 characters, never in clear)
  mailferry project import FILE [--passphrase-env VAR | --passphrase-stdin] [--without-secrets]
        [--as NAME]
        (FILE "-" = standard input; the passphrase opens the passwords of an export made
        --with-secrets; --without-secrets imports the project and users without them;
        --as imports it under another name, e.g. when its own is taken)
`

func init() {
	register("project", projectUsage, func(e *env, args []string) error {
		return subcommand(e, args, projectUsage, map[string]func(*env, []string) error{
			"create": projectCreate,
			"list":   projectList,
			"show":   projectShow,
			"delete": projectDelete,
			"rename": projectRename,
			"set":    projectSet,
			"export": projectExport,
			"import": projectImport,
		})
	})
}

func projectCreate(e *env, args []string) error {
	fs := e.newFlags("project create", false)
	customer := fs.String("customer", "", "customer name")
	pos, err := parse(fs, args, projectUsage, 1, 1)
	if err != nil {
		return err
	}
	if err := project.ValidateName(strings.TrimSpace(pos[0])); err != nil {
		reportFieldErrors(e.stderr, err) // before the database is opened
		return errReported
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	p, err := usecase.CreateProject(st, pos[0], *customer)
	if err != nil {
		return reportInvalid(e, err, "")
	}
	fmt.Fprintf(e.stdout, "created project %q\n", p.Name)
	return nil
}

func projectList(e *env, args []string) error {
	fs := e.newFlags("project list", true)
	if _, err := parse(fs, args, projectUsage, 0, 0); err != nil {
		return err
	}
	st, err := e.openRead()
	if err != nil {
		return err
	}
	ps, err := st.Projects()
	if err != nil {
		return fmt.Errorf("list projects: %w", err)
	}
	out := make([]projectSummary, 0, len(ps))
	for _, p := range ps {
		us, err := st.Users(p.Name)
		if err != nil {
			return fmt.Errorf("list users of %q: %w", p.Name, err)
		}
		out = append(out, projectSummary{
			Name: p.Name, Customer: p.Customer, Created: p.Created, Demo: p.Demo,
			SourceType: string(p.Source.Type), DestType: string(p.Dest.Type), Users: len(us),
		})
	}
	if e.json {
		return writeJSON(e.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "no projects")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCUSTOMER\tSOURCE\tDEST\tUSERS")
	for _, p := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", p.Name, dash(p.Customer), dash(p.SourceType), dash(p.DestType), p.Users)
	}
	return tw.Flush()
}

func projectShow(e *env, args []string) error {
	fs := e.newFlags("project show", true)
	pos, err := parse(fs, args, projectUsage, 1, 1)
	if err != nil {
		return err
	}
	st, err := e.openRead()
	if err != nil {
		return err
	}
	p, err := st.Project(pos[0])
	if err != nil {
		return err // the store names the project
	}
	us, err := st.Users(p.Name)
	if err != nil {
		return fmt.Errorf("list users of %q: %w", p.Name, err)
	}
	v := newProjectView(p, len(us))
	if e.json {
		return writeJSON(e.stdout, v)
	}
	w := e.stdout
	fmt.Fprintf(w, "Project:   %s\n", p.Name)
	fmt.Fprintf(w, "Customer:  %s\n", dash(p.Customer))
	fmt.Fprintf(w, "Created:   %s\n", p.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "Users:     %d\n", len(us))
	fmt.Fprintf(w, "Source:    %s\n", describeEndpoint(p.Source))
	fmt.Fprintf(w, "Dest:      %s\n", describeEndpoint(p.Dest))
	o := p.Options
	fmt.Fprintf(w, "Options:   max concurrent users %d, max errors per user %d, pre-stage days %d",
		o.MaxConcurrentUsers, o.MaxErrorsPerUser, o.PrestageDays)
	if o.MaxItemSizeMB > 0 {
		fmt.Fprintf(w, ", max item size %d MB", o.MaxItemSizeMB)
	}
	if o.IncludeSharedFolders {
		fmt.Fprint(w, ", shared folders included")
	}
	fmt.Fprintln(w)
	for _, r := range o.FolderMapping {
		fmt.Fprintf(w, "Mapping:   %s\n", r)
	}
	if o.FolderFilter != "" {
		fmt.Fprintf(w, "Filter:    %s\n", o.FolderFilter)
	}
	return nil
}

func projectDelete(e *env, args []string) error {
	fs := e.newFlags("project delete", false)
	pos, err := parse(fs, args, projectUsage, 1, 1)
	if err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	if err := st.DeleteProject(pos[0]); err != nil {
		return fmt.Errorf("delete project %q: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "deleted project %q\n", pos[0])
	return nil
}

func projectExport(e *env, args []string) error {
	fs := e.newFlags("project export", false)
	withSecrets := fs.Bool("with-secrets", false, "include the passwords, encrypted with a passphrase")
	pass := addSecretFlags(fs, "passphrase", "passphrase that encrypts the passwords")
	pos, err := parse(fs, args, projectUsage, 2, 2)
	if err != nil {
		return err
	}
	if *withSecrets && !pass.given() {
		return usagef(projectUsage, "--with-secrets needs a passphrase (--passphrase-env VAR or --passphrase-stdin): "+
			"MailFerry never writes passwords in clear, it encrypts them with the passphrase")
	}
	if !*withSecrets && pass.given() {
		return usagef(projectUsage, "a passphrase only protects passwords: add --with-secrets, or drop the passphrase")
	}
	var phrase []byte
	if *withSecrets {
		if phrase, err = pass.read(e, projectUsage); err != nil {
			return err
		}
		defer clear(phrase)
		if err := store.CheckPassphrase(phrase); err != nil {
			return fmt.Errorf("export project %q: %w", pos[0], err)
		}
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	var data []byte
	if *withSecrets {
		data, err = st.ExportProjectSealed(pos[0], phrase)
	} else {
		data, err = st.ExportProject(pos[0], false)
	}
	if err != nil {
		return fmt.Errorf("export project %q: %w", pos[0], err)
	}
	if pos[1] == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	// 0600: an export always holds addresses (and maybe sealed passwords).
	if err := os.WriteFile(pos[1], data, 0o600); err != nil {
		return fmt.Errorf("export project %q: %w", pos[0], err)
	}
	if *withSecrets {
		fmt.Fprintf(e.stdout, "exported project %q with its passwords, encrypted with the passphrase, to %s\n", pos[0], pos[1])
	} else {
		fmt.Fprintf(e.stdout, "exported project %q (without passwords) to %s\n", pos[0], pos[1])
	}
	return nil
}

// nameTaken is project import's error when the name is taken: it names
// --as with the copy name usecase.FreeProjectName suggests.
func nameTaken(st *store.Store, data []byte, as, file string, err error) error {
	name := strings.TrimSpace(as)
	if name == "" {
		info, ierr := store.InspectExport(data)
		if ierr != nil {
			return fmt.Errorf("import project from %s: %w", file, err)
		}
		name = info.Project
	}
	free, ferr := usecase.FreeProjectName(st, name)
	if ferr != nil {
		return fmt.Errorf("import project from %s: %w", file, err)
	}
	return fmt.Errorf("import project from %s: %w\n(a project named %q exists: import this one under another name with --as NAME, e.g. --as %q)", file, err, name, free)
}

func projectImport(e *env, args []string) error {
	fs := e.newFlags("project import", false)
	pass := addSecretFlags(fs, "passphrase", "passphrase the export was made with")
	without := fs.Bool("without-secrets", false, "import the project and users without their passwords")
	as := fs.String("as", "", "import the project under this `NAME` instead of its exported one")
	pos, err := parse(fs, args, projectUsage, 1, 1)
	if err != nil {
		return err
	}
	if pos[0] == "-" && pass.stdin {
		return usagef(projectUsage, "the file and the passphrase cannot both come from standard input: use --passphrase-env VAR")
	}
	if *without && pass.given() {
		return usagef(projectUsage, "--without-secrets needs no passphrase")
	}
	var data []byte
	if pos[0] == "-" {
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return fmt.Errorf("import project: %w", err)
	}
	phrase, err := pass.read(e, projectUsage)
	if err != nil {
		return err
	}
	defer clear(phrase)
	st, err := e.open()
	if err != nil {
		return err
	}
	p, err := st.ImportProjectWith(data, store.ImportOptions{Passphrase: phrase, WithoutSecrets: *without, Name: *as})
	switch {
	case errors.Is(err, store.ErrExists):
		return nameTaken(st, data, *as, pos[0], err)
	case errors.Is(err, store.ErrPassphraseRequired):
		return fmt.Errorf("import project from %s: %w\n(give it with --passphrase-env VAR or --passphrase-stdin, or use --without-secrets)", pos[0], err)
	case err != nil:
		return fmt.Errorf("import project from %s: %w", pos[0], err)
	}
	if info, ierr := store.InspectExport(data); ierr == nil && info.ClearSecrets && !*without && pos[0] != "-" {
		fmt.Fprintf(e.stderr, "warning: %s is an old export with the passwords in clear: delete it "+
			"(export again with --with-secrets and a passphrase if you need a copy with passwords)\n", pos[0])
	}
	if *without {
		fmt.Fprintf(e.stdout, "imported project %q without passwords\n", p.Name)
	} else {
		fmt.Fprintf(e.stdout, "imported project %q\n", p.Name)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func describeEndpoint(ep project.Endpoint) string {
	switch ep.Type {
	case "":
		return "not configured"
	case project.TypeIMAP, project.TypeGmail, project.TypeGWorkspace, project.TypeM365IMAP:
		s := fmt.Sprintf("%s %s:%d %s", ep.Type, ep.Host, ep.Port, ep.Security)
		if ep.AdminUser != "" {
			s += " admin " + ep.AdminUser
		}
		switch {
		case ep.Type == project.TypeGWorkspace:
			s += " service account " + dash(ep.ServiceAccount)
		case ep.Type == project.TypeM365IMAP:
			s += fmt.Sprintf(" tenant %s client %s", ep.Tenant, ep.ClientID)
			if ep.Cloud != "" {
				s += " cloud " + ep.Cloud
			}
			if ep.Authority != "" {
				s += " authority " + ep.Authority
			}
		case ep.SecretRef != "":
			s += " with an access token (OAuth)"
		}
		return s
	case project.TypeEWS:
		s := "ews"
		switch {
		case ep.URL != "":
			s += " " + ep.URL
		case ep.OWAURL != "":
			s += " owa " + ep.OWAURL
		case ep.AutodiscoverEmail != "":
			s += " autodiscover " + ep.AutodiscoverEmail
		case ep.Provider != "":
			s += " provider " + ep.Provider
		}
		if ep.AdminUser != "" {
			s += " admin " + ep.AdminUser
		}
		if ep.Access != "" {
			s += " " + string(ep.Access)
		}
		return s
	case project.TypeGraph:
		s := fmt.Sprintf("graph tenant %s client %s", ep.Tenant, ep.ClientID)
		if ep.Cloud != "" {
			s += " cloud " + ep.Cloud
		}
		if ep.GraphURL != "" || ep.Authority != "" {
			s += fmt.Sprintf(" (graph-url %s, authority %s)", dash(ep.GraphURL), dash(ep.Authority))
		}
		return s
	}
	return string(ep.Type)
}

func projectRename(e *env, args []string) error {
	fs := e.newFlags("project rename", false)
	pos, err := parse(fs, args, projectUsage, 2, 2)
	if err != nil {
		return err
	}
	if err := project.ValidateName(pos[1]); err != nil {
		reportFieldErrors(e.stderr, err)
		return errReported
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	if err := st.RenameProject(pos[0], pos[1]); err != nil {
		return fmt.Errorf("rename project %q: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "renamed project %q to %q\n", pos[0], pos[1])
	return nil
}

// projectSet changes the project's customer name and options; flags not
// given keep their values. An empty --date-from/--date-to clears it.
// projectSetFlags are the flags of `project set`.
type projectSetFlags struct {
	customer, filter, dateFrom, dateTo     *string
	maxUsers, maxErrors, maxItem, prestage *int
	clearMapping, shared                   *bool
	mappings                               listFlag
	from, to                               time.Time
	set                                    map[string]bool
}

func newProjectSetFlags(fs *flag.FlagSet) *projectSetFlags {
	f := &projectSetFlags{
		customer:     fs.String("customer", "", "customer name"),
		maxUsers:     fs.Int("max-concurrent-users", 0, "users migrated at the same time (1-100)"),
		maxErrors:    fs.Int("max-errors-per-user", 0, "failed items after which a user fails (0 = never)"),
		clearMapping: fs.Bool("clear-folder-mapping", false, "remove the folder mapping rules first"),
		filter:       fs.String("folder-filter", "", "case-insensitive regex of source folders to skip (\"\" = none)"),
		maxItem:      fs.Int("max-item-size-mb", 0, "largest item to migrate in MB (0 = no limit)"),
		prestage:     fs.Int("prestage-days", 0, "default pre-stage cutoff in days"),
		dateFrom:     fs.String("date-from", "", "migrate only items from this date (YYYY-MM-DD)"),
		dateTo:       fs.String("date-to", "", "migrate only items before this date (YYYY-MM-DD)"),
		shared:       fs.Bool("include-shared-folders", false, "also migrate the source's shared and other users' folders (NAMESPACE); =false to stop"),
	}
	fs.Var(&f.mappings, "folder-mapping", "folder mapping rule `REGEX->REPLACEMENT` (repeatable, appended in order)")
	return f
}

func projectSet(e *env, args []string) error {
	fs := e.newFlags("project set", false)
	f := newProjectSetFlags(fs)
	pos, err := parse(fs, args, projectUsage, 1, 1)
	if err != nil {
		return err
	}
	f.set = given(fs)
	if len(f.set) == 0 || len(f.set) == 1 && f.set["db"] {
		return usagef(projectUsage, "nothing to change")
	}
	if f.from, err = parseFlagDate("date-from", *f.dateFrom); err != nil {
		return err
	}
	if f.to, err = parseFlagDate("date-to", *f.dateTo); err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	var invalid error
	err = st.UpdateProject(pos[0], func(p *project.Project) error {
		f.apply(p)
		invalid = p.Validate()
		return invalid
	})
	if invalid != nil {
		reportFieldErrors(e.stderr, invalid)
		return errReported
	}
	if err != nil {
		return fmt.Errorf("project set %q: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "updated project %q\n", pos[0])
	return nil
}

// parseFlagDate reads a YYYY-MM-DD flag value ("" = no date).
func parseFlagDate(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, time.Local)
	if err != nil {
		return t, usagef(projectUsage, "--%s %q: want a date as YYYY-MM-DD", flag, v)
	}
	return t, nil
}

// apply changes what the flags given say; the rest stays.
func (f *projectSetFlags) apply(p *project.Project) {
	o, set := &p.Options, f.set
	setString(set["customer"], &p.Customer, *f.customer)
	setInt(set["max-concurrent-users"], &o.MaxConcurrentUsers, *f.maxUsers)
	setInt(set["max-errors-per-user"], &o.MaxErrorsPerUser, *f.maxErrors)
	if *f.clearMapping {
		o.FolderMapping = nil
	}
	o.FolderMapping = append(o.FolderMapping, f.mappings...)
	setString(set["folder-filter"], &o.FolderFilter, *f.filter)
	setInt(set["max-item-size-mb"], &o.MaxItemSizeMB, *f.maxItem)
	setInt(set["prestage-days"], &o.PrestageDays, *f.prestage)
	if set["date-from"] {
		o.DateFrom = f.from
	}
	if set["date-to"] {
		o.DateTo = f.to
	}
	if set["include-shared-folders"] {
		o.IncludeSharedFolders = *f.shared
	}
}

func setInt(given bool, into *int, v int) {
	if given {
		*into = v
	}
}
