package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

const usersUsage = `  mailferry users import --project P FILE.csv [--addresses-only] [--accept-valid]   (FILE "-" = stdin)
        [--dest-domain DOMAIN] [--keep-passwords] [--dry-run]
  mailferry users list --project P [--json]
  mailferry users set --project P --user EMAIL [--clear-options] --option Key=Value ...
        (Key= with an empty value removes that key)
  mailferry users template [--format migrationwiz|microsoft] [FILE]
        (an empty users CSV with the format's header; no FILE or "-" = standard output)
`

func init() {
	register("users", usersUsage+userEditUsage, func(e *env, args []string) error {
		return subcommand(e, args, usersUsage+userEditUsage, map[string]func(*env, []string) error{
			"add":      usersAdd,
			"edit":     usersEdit,
			"remove":   usersRemove,
			"import":   usersImport,
			"list":     usersList,
			"set":      usersSet,
			"template": usersTemplate,
		})
	})
}

// usersImport reads a CSV of users. With row errors nothing is saved
// unless --accept-valid is given; then the valid rows are saved and the
// bad ones reported. Re-importing a user keeps its status, history and
// (when the CSV has none) its support options and passwords.
func usersImport(e *env, args []string) error {
	fs := e.newFlags("users import", false)
	projName := fs.String("project", "", "project name")
	addressesOnly := fs.Bool("addresses-only", false, "import addresses only, no passwords (credential request)")
	acceptValid := fs.Bool("accept-valid", false, "save the valid rows even if other rows have errors")
	destDomain := fs.String("dest-domain", "", "Microsoft format: destination address = source local part @ `DOMAIN`")
	keep := fs.Bool("keep-passwords", false, "keep stored passwords the file gives different ones for")
	dryRun := fs.Bool("dry-run", false, "print what the import would do per user (new/updated/unchanged); save nothing")
	pos, err := parse(fs, args, usersUsage, 1, 1)
	if err != nil {
		return err
	}
	if *projName == "" {
		return usagef(usersUsage, "--project is required")
	}
	st, _, err := e.openProject(e.open, *projName)
	if err != nil {
		return err
	}
	res, name, err := readUsersFile(e, pos[0], csvimport.Options{AddressesOnly: *addressesOnly, DestDomain: strings.TrimSpace(*destDomain)})
	if err != nil {
		return err
	}
	in := usecase.UsersImport{Project: *projName, Result: res, AddressesOnly: *addressesOnly, AcceptValid: *acceptValid, KeepPasswords: *keep}
	if *dryRun {
		return printImportPlan(e, st, in)
	}
	sum, err := usecase.ImportUsers(st, in)
	if errors.Is(err, usecase.ErrRowErrors) {
		fmt.Fprintf(e.stderr, "%d row error(s): nothing imported (fix the file, or use --accept-valid to import the %d valid row(s))\n",
			len(res.Errors), len(res.Users))
		return errReported
	}
	if err != nil {
		return fmt.Errorf("users import: %s: %w", name, err)
	}
	fmt.Fprintf(e.stdout, "imported %d user(s) into %q (%d new, %d updated", sum.Imported, *projName, sum.New, sum.Updated)
	if sum.Unchanged > 0 {
		fmt.Fprintf(e.stdout, ", %d of them unchanged", sum.Unchanged)
	}
	fmt.Fprint(e.stdout, ")")
	if sum.PasswordsReplaced > 0 {
		fmt.Fprintf(e.stdout, "; %d stored password(s) replaced by the file's (--keep-passwords keeps them)", sum.PasswordsReplaced)
	}
	if sum.PasswordsKept > 0 {
		fmt.Fprintf(e.stdout, "; %d stored password(s) kept", sum.PasswordsKept)
	}
	if sum.Skipped > 0 {
		fmt.Fprintf(e.stdout, "; %d row(s) with errors skipped", sum.Skipped)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// readUsersFile reads and parses FILE ("-" = stdin), printing its
// warnings and row errors on stderr.
func readUsersFile(e *env, file string, opts csvimport.Options) (*csvimport.Result, string, error) {
	var r io.Reader = e.stdin
	name := "standard input"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, "", fmt.Errorf("users import: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	res, err := usecase.ReadUsersCSVWith(r, opts)
	var fe *project.FieldError
	if errors.As(err, &fe) {
		fmt.Fprintf(e.stderr, "invalid: --dest-domain: %s\n", fe.Reason)
		return nil, "", errReported
	}
	if err != nil {
		return nil, "", fmt.Errorf("users import: %s: %w", name, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "%s: warning: %s\n", name, w)
	}
	for _, re := range res.Errors {
		fmt.Fprintf(e.stderr, "%s: %s\n", name, re.Error())
	}
	return res, name, nil
}

// printImportPlan prints usecase.PlanImport, one line per valid row.
func printImportPlan(e *env, st *store.Store, in usecase.UsersImport) error {
	plan, err := usecase.PlanImport(st, in)
	if err != nil {
		return fmt.Errorf("users import: %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for i, u := range in.Result.Users {
		rp := plan.Rows[i]
		what := strings.Join(rp.Changes, ", ")
		if rp.PasswordKept {
			what = strings.TrimPrefix(what+", stored password kept", ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", rp.Kind, u.SourceEmail, u.DestEmail, what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "dry run: %d new, %d updated, %d unchanged, %d stored password(s) replaced; nothing saved\n",
		plan.New, plan.Updated, plan.Unchanged, plan.PasswordsReplaced)
	return nil
}

func usersList(e *env, args []string) error {
	fs := e.newFlags("users list", true)
	projName := fs.String("project", "", "project name")
	if _, err := parse(fs, args, usersUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(usersUsage, "--project is required")
	}
	st, _, err := e.openProject(e.openRead, *projName)
	if err != nil {
		return err
	}
	us, err := st.Users(*projName)
	if err != nil {
		return fmt.Errorf("list users of %q: %w", *projName, err)
	}
	views := make([]userView, 0, len(us))
	for _, u := range us {
		views = append(views, newUserView(u))
	}
	if e.json {
		return writeJSON(e.stdout, views)
	}
	if len(views) == 0 {
		fmt.Fprintf(e.stdout, "project %q has no users\n", *projName)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tDESTINATION\tSTATUS\tPASSWORD\tSUPPORT OPTIONS")
	for _, v := range views {
		pw := "no"
		switch {
		case v.SourcePasswordSet:
			pw = "yes"
		case v.AddressesOnly:
			pw = "requested"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.SourceEmail, dash(v.DestEmail), v.Status, pw, dash(strings.Join(v.SupportOptions, "; ")))
	}
	return tw.Flush()
}

func usersSet(e *env, args []string) error {
	fs := e.newFlags("users set", false)
	projName := fs.String("project", "", "project name")
	email := fs.String("user", "", "the user's source email")
	clearOpts := fs.Bool("clear-options", false, "remove all support options first")
	var opts listFlag
	fs.Var(&opts, "option", "support option `Key=Value` (repeatable)")
	if _, err := parse(fs, args, usersUsage, 0, 0); err != nil {
		return err
	}
	switch {
	case *projName == "":
		return usagef(usersUsage, "--project is required")
	case *email == "":
		return usagef(usersUsage, "--user is required")
	case len(opts) == 0 && !*clearOpts:
		return usagef(usersUsage, "nothing to change: give --option Key=Value or --clear-options")
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	id := strings.ToLower(strings.TrimSpace(*email))
	var result []string
	errBad := errors.New("bad support options")
	err = st.UpdateUser(*projName, id, func(u *project.User) error {
		lines := u.SupportOptions
		if *clearOpts {
			lines = nil
		}
		lines, err := applyOptions(lines, opts)
		if err != nil {
			fmt.Fprintf(e.stderr, "user %s: %v\n", id, err)
			return errBad
		}
		if _, err := project.ParseSupportOptions(lines); err != nil {
			fmt.Fprintf(e.stderr, "user %s: invalid support option: %v\n", id, err)
			return errBad
		}
		u.SupportOptions = lines
		result = lines
		return nil
	})
	switch {
	case errors.Is(err, errBad):
		return errReported
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("project %q, user %s: %w", *projName, id, err)
	case err != nil:
		return fmt.Errorf("users set: %w", err)
	}
	if len(result) == 0 {
		fmt.Fprintf(e.stdout, "user %s: no support options\n", id)
		return nil
	}
	fmt.Fprintf(e.stdout, "user %s: support options:\n", id)
	for _, l := range result {
		fmt.Fprintf(e.stdout, "  %s\n", l)
	}
	return nil
}

// applyOptions adds "Key=Value" lines to lines. A new value replaces the
// lines of the same key, except FolderMapping rules, which accumulate in
// order. "Key=" (empty value) removes the key's lines.
func applyOptions(lines, opts []string) ([]string, error) {
	out := append([]string(nil), lines...)
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--option %q: want Key=Value", o)
		}
		if strings.TrimSpace(v) == "" || !strings.EqualFold(k, "FolderMapping") {
			out = dropKey(out, k)
		}
		if strings.TrimSpace(v) != "" {
			out = append(out, k+"="+strings.TrimSpace(v))
		}
	}
	return out, nil
}

func dropKey(lines []string, key string) []string {
	var out []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		if !strings.EqualFold(strings.TrimSpace(k), key) {
			out = append(out, l)
		}
	}
	return out
}

// usersTemplate writes csvimport.Template: the empty users file the GUI
// saves with "CSV template…". It needs no database.
func usersTemplate(e *env, args []string) error {
	fs := e.newFlags("users template", false)
	format := fs.String("format", csvimport.FormatMigrationWiz, "migrationwiz or microsoft")
	pos, err := parse(fs, args, usersUsage, 0, 1)
	if err != nil {
		return err
	}
	f := strings.ToLower(strings.TrimSpace(*format))
	if !slices.Contains(csvimport.TemplateFormats, f) {
		return usagef(usersUsage, "--format %q: want migrationwiz or microsoft", *format)
	}
	data, err := csvimport.Template(f)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(pos[0], data, 0o644); err != nil {
		return fmt.Errorf("users template: %w", err)
	}
	fmt.Fprintf(e.stderr, "wrote the %s users template to %s\n", f, pos[0])
	return nil
}
