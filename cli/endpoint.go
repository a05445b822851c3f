package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

const endpointUsage = `  mailferry endpoint set --project P --side source|dest --type imap
        --host H [--port N] [--security ssl|starttls|none] [--trust-fingerprint SHA256]
        [--admin-user U (--password-env VAR | --password-stdin)] [--login-template '{user}*{admin}']
  mailferry endpoint set --project P --side dest --type ews
        (--url EWS_URL | --owa-url URL | --autodiscover EMAIL | --provider NAME)
        [--admin-user U (--password-env VAR | --password-stdin)]
        [--access delegation|impersonation] [--auth basic|ntlm] [--trust-fingerprint SHA256]
  mailferry endpoint set --project P --side dest --type graph --tenant T --client-id ID
        (--secret-env VAR | --secret-stdin | --cert-file PEM) [--provider NAME]
        (an app registration with the application permissions Mail.ReadWrite and
        Mail-Advanced.ReadWrite.All, admin consent; README › Setting up Exchange Online)
        [--cloud global|usgov|usgov-dod|china] [--graph-url URL] [--authority URL] [--trust-fingerprint SHA256]
  mailferry endpoint set --project P --side source --type gworkspace --service-account-file KEY.json
        [--include-trash-spam] [--daily-limit-mb N] [--host H] [--port N] [--security ssl|starttls|none]  # default imap.gmail.com:993 ssl
  mailferry endpoint set --project P --side source --type m365-imap --tenant T --client-id ID
        (--secret-env VAR | --secret-stdin | --cert-file PEM) [--cloud global|usgov|usgov-dod|china] [--authority URL]
        [--host H] [--port N] [--security ssl|starttls|none]     # default the cloud's host (outlook.office365.com):993 ssl
  mailferry endpoint set --project P --side source --type gmail [--token-env VAR | --token-stdin]
        [--host H] [--port N] [--security ssl|starttls|none]     # default imap.gmail.com:993 ssl
  mailferry endpoint set ... --type imap ... [--token-env VAR | --token-stdin]   # OAuth access token
  mailferry endpoint test --project P --side source|dest [--user EMAIL] [--json]
`

func init() {
	register("endpoint", endpointUsage, func(e *env, args []string) error {
		return subcommand(e, args, endpointUsage, map[string]func(*env, []string) error{
			"set":  endpointSet,
			"test": endpointTest,
		})
	})
}

// flagsByType lists the flags that only make sense for one endpoint type.
var flagsByType = map[project.EndpointType][]string{
	project.TypeIMAP:       {"host", "port", "security", "trust-fingerprint", "login-template", "token-env", "token-stdin"},
	project.TypeGmail:      {"host", "port", "security", "trust-fingerprint", "token-env", "token-stdin", "include-trash-spam", "daily-limit-mb"},
	project.TypeGWorkspace: {"host", "port", "security", "trust-fingerprint", "service-account-file", "include-trash-spam", "daily-limit-mb"},
	project.TypeM365IMAP:   {"host", "port", "security", "trust-fingerprint", "tenant", "client-id", "secret-env", "secret-stdin", "cert-file", "cloud", "authority"},
	project.TypeEWS:        {"url", "owa-url", "autodiscover", "provider", "access", "auth", "trust-fingerprint"},
	project.TypeGraph:      {"tenant", "client-id", "secret-env", "secret-stdin", "cert-file", "cloud", "graph-url", "authority", "trust-fingerprint", "provider"},
}

func parseSide(usage, s string) (project.Side, error) {
	switch project.Side(s) {
	case project.SideSource, project.SideDest:
		return project.Side(s), nil
	case "":
		return "", usagef(usage, "--side is required (source or dest)")
	}
	return "", usagef(usage, "--side %q: want source or dest", s)
}

func endpointOf(p *project.Project, side project.Side) *project.Endpoint {
	if side == project.SideSource {
		return &p.Source
	}
	return &p.Dest
}

// endpointFlags are the flags of `endpoint set`.
type endpointFlags struct {
	fs                                          *flag.FlagSet
	project, side, typ, host, security, trustFP *string
	template, admin, url, owa, autod, provider  *string
	access, auth, tenant, clientID, certFile    *string
	cloud, graphURL, authority, saFile          *string
	port, dailyMB                               *int
	trashSpam                                   *bool
	password, secret, token                     *secretFlags
	set                                         map[string]bool // the flags given
}

func newEndpointFlags(e *env) *endpointFlags {
	fs := e.newFlags("endpoint set", false)
	return &endpointFlags{
		fs:        fs,
		project:   fs.String("project", "", "project name"),
		side:      fs.String("side", "", "source or dest"),
		typ:       fs.String("type", "", "imap, gworkspace, gmail, m365-imap, ews or graph"),
		host:      fs.String("host", "", "IMAP host name or address"),
		port:      fs.Int("port", 0, "IMAP port (default 993 with ssl, else 143)"),
		security:  fs.String("security", "", "ssl, starttls or none (default ssl)"),
		trustFP:   fs.String("trust-fingerprint", "", "trust a self-signed certificate with this SHA-256 fingerprint"),
		template:  fs.String("login-template", "", "admin login template, e.g. {user}*{admin}"),
		admin:     fs.String("admin-user", "", "admin login"),
		url:       fs.String("url", "", "EWS URL"),
		owa:       fs.String("owa-url", "", "OWA URL"),
		autod:     fs.String("autodiscover", "", "email address for Autodiscover"),
		provider:  fs.String("provider", "", "provider name from the catalog (mailferry providers list)"),
		access:    fs.String("access", "", "delegation or impersonation"),
		auth:      fs.String("auth", "", "basic or ntlm"),
		tenant:    fs.String("tenant", "", "Entra ID tenant"),
		clientID:  fs.String("client-id", "", "application (client) id"),
		certFile:  fs.String("cert-file", "", "PEM `file` with the app's certificate and its RSA private key (instead of a client secret)"),
		cloud:     fs.String("cloud", "", "Microsoft cloud: global, usgov, usgov-dod or china (default global)"),
		graphURL:  fs.String("graph-url", "", "Graph root URL, overriding the cloud's (tests, proxies)"),
		authority: fs.String("authority", "", "sign-in authority URL, overriding the cloud's (tests, proxies)"),
		saFile:    fs.String("service-account-file", "", "Google service-account JSON key `file` (domain-wide delegation)"),
		trashSpam: fs.Bool("include-trash-spam", false, "also migrate Gmail's Trash and Spam (skipped by default)"),
		dailyMB:   fs.Int("daily-limit-mb", 0, "MB downloaded per Gmail mailbox and pass before pausing (0 = 2400; Google allows about 2,500 a day)"),
		password:  addSecretFlags(fs, "password", "admin password"),
		token:     addSecretFlags(fs, "token", "OAuth access token obtained for the account"),
		secret:    addSecretFlags(fs, "secret", "client secret"),
	}
}

// endpointSet creates or changes an endpoint through usecase.SaveEndpoint.
// When the endpoint already has the given type, flags not given keep their
// stored values; a new type starts from an empty endpoint. The admin
// password is kept unless a new one is given (or --admin-user changes
// without one: then it is dropped).
func endpointSet(e *env, args []string) error {
	f := newEndpointFlags(e)
	if _, err := parse(f.fs, args, endpointUsage, 0, 0); err != nil {
		return err
	}
	f.set = given(f.fs)
	side, err := f.checkUsage()
	if err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	p, err := st.Project(*f.project)
	if err != nil {
		return err // the store names the project
	}
	ep, err := f.endpoint(*endpointOf(&p, side))
	if err != nil {
		return err
	}
	c := usecase.EndpointChange{Project: p.Name, Side: side, Endpoint: ep}
	if err := f.readSecrets(e, &c); err != nil {
		return err
	}
	defer clear(c.Password)
	defer clear(c.Secret)
	saved, err := usecase.SaveEndpoint(st, c)
	if err != nil {
		if ep.Type == project.TypeGraph {
			// What the tenant needs, as the GUI shows beside the Graph fields.
			defer fmt.Fprintf(e.stderr, "note: %s\nSteps: %s\n", graph.AppRequirements, graph.SetupGuideURL)
		}
		return reportInvalid(e, err, p.Name)
	}
	fmt.Fprintf(e.stdout, "%s endpoint of project %q: %s\n", side, p.Name, describeEndpoint(saved))
	if saved.Type == project.TypeIMAP && saved.AdminUser != "" && saved.PasswordRef == "" {
		fmt.Fprintln(e.stderr, "note: no admin password stored (give --password-env VAR or --password-stdin)")
	}
	return nil
}

// checkUsage checks the flags that need no stored project.
func (f *endpointFlags) checkUsage() (project.Side, error) {
	if *f.project == "" {
		return "", usagef(endpointUsage, "--project is required")
	}
	side, err := parseSide(endpointUsage, *f.side)
	if err != nil {
		return "", err
	}
	if urls := f.urlFlags(); len(urls) > 1 {
		return "", usagef(endpointUsage, "use only one of %s", strings.Join(urls, ", "))
	}
	if f.set["cert-file"] && f.secret.given() {
		return "", usagef(endpointUsage, "use either --cert-file or --secret-env/--secret-stdin, not both")
	}
	if f.token.given() && f.password.given() {
		return "", usagef(endpointUsage, "use either a token or a password, not both")
	}
	return side, nil
}

// urlFlags lists the given flags that say where an EWS server is.
func (f *endpointFlags) urlFlags() []string {
	var out []string
	for _, n := range []string{"url", "owa-url", "autodiscover", "provider"} {
		if f.set[n] {
			out = append(out, "--"+n)
		}
	}
	return out
}

// endpoint applies the flags to the stored endpoint old.
func (f *endpointFlags) endpoint(old project.Endpoint) (project.Endpoint, error) {
	typ := project.EndpointType(strings.ToLower(*f.typ))
	if typ == "" {
		typ = old.Type
	}
	if typ == "" {
		return old, usagef(endpointUsage, "--type is required (imap, gworkspace, gmail, m365-imap, ews or graph)")
	}
	// Flags of another endpoint type are a mistake, not something to ignore.
	for t, names := range flagsByType {
		for _, n := range names {
			if t != typ && f.set[n] && !contains(flagsByType[typ], n) {
				return old, usagef(endpointUsage, "--%s does not apply to a %s endpoint", n, typ)
			}
		}
	}
	if f.password.given() && (typ == project.TypeGraph || typ == project.TypeM365IMAP) {
		return old, usagef(endpointUsage, "a %s endpoint takes --secret-env, --secret-stdin or --cert-file, not a password", typ)
	}
	if f.password.given() && typ == project.TypeGWorkspace {
		return old, usagef(endpointUsage, "a gworkspace endpoint takes --service-account-file, not a password")
	}
	ep := project.Endpoint{Type: typ}
	if old.Type == typ {
		ep = old
	}
	switch typ {
	case project.TypeIMAP, project.TypeGmail, project.TypeGWorkspace:
		f.applyIMAP(&ep)
		if f.set["include-trash-spam"] {
			ep.IncludeTrashSpam = *f.trashSpam
		}
		if f.set["daily-limit-mb"] {
			ep.DailyLimitMB = *f.dailyMB
		}
	case project.TypeM365IMAP:
		f.applyIMAP(&ep)
		setString(f.set["tenant"], &ep.Tenant, *f.tenant)
		setString(f.set["client-id"], &ep.ClientID, *f.clientID)
		setString(f.set["authority"], &ep.Authority, strings.TrimSpace(*f.authority))
		// The cloud moves the token scope and authority, and the default
		// host with it (usecase.SaveEndpoint).
		setString(f.set["cloud"], &ep.Cloud, strings.ToLower(strings.TrimSpace(*f.cloud)))
	case project.TypeEWS:
		f.applyEWS(&ep)
	case project.TypeGraph:
		setString(f.set["tenant"], &ep.Tenant, *f.tenant)
		setString(f.set["client-id"], &ep.ClientID, *f.clientID)
		if f.set["provider"] {
			// The catalog entry's cloud, unless --cloud says otherwise
			// (usecase.SaveEndpoint resolves it).
			ep.Provider, ep.Cloud = strings.TrimSpace(*f.provider), ""
		}
		setString(f.set["cloud"], &ep.Cloud, strings.ToLower(strings.TrimSpace(*f.cloud)))
		setString(f.set["graph-url"], &ep.GraphURL, strings.TrimSpace(*f.graphURL))
		setString(f.set["authority"], &ep.Authority, strings.TrimSpace(*f.authority))
	}
	if f.set["trust-fingerprint"] {
		ep.TrustFingerprint = project.NormalizeFingerprint(*f.trustFP)
	}
	setString(f.set["admin-user"], &ep.AdminUser, *f.admin)
	if f.password.given() && ep.AdminUser == "" {
		return old, usagef(endpointUsage, "a password needs --admin-user")
	}
	return ep, nil
}

func (f *endpointFlags) applyIMAP(ep *project.Endpoint) {
	oldSec := ep.Security
	if f.set["host"] {
		ep.Host = strings.TrimSpace(*f.host)
	} else if ep.Host == "" {
		ep.Host = ep.Type.DefaultHost() // the provider's (gworkspace, gmail, m365-imap)
	}
	if f.set["security"] {
		ep.Security = project.Security(strings.ToLower(*f.security))
	} else if ep.Security == "" {
		ep.Security = project.SecuritySSL
	}
	switch {
	case f.set["port"]:
		ep.Port = *f.port
	case oldSec != "" && ep.Port == project.DefaultIMAPPort(oldSec):
		ep.Port = 0 // follows the new security mode
	}
	*ep = ep.WithDefaultPort()
	setString(f.set["login-template"], &ep.LoginTemplate, *f.template)
}

func (f *endpointFlags) applyEWS(ep *project.Endpoint) {
	if len(f.urlFlags()) == 1 {
		ep.URL, ep.OWAURL, ep.AutodiscoverEmail, ep.Provider = "", "", "", ""
	}
	setString(f.set["url"], &ep.URL, *f.url)
	setString(f.set["owa-url"], &ep.OWAURL, *f.owa)
	setString(f.set["autodiscover"], &ep.AutodiscoverEmail, *f.autod)
	setString(f.set["provider"], &ep.Provider, strings.TrimSpace(*f.provider))
	if f.set["access"] {
		ep.Access = project.Access(strings.ToLower(*f.access))
	}
	if f.set["auth"] {
		ep.Auth = strings.ToLower(*f.auth)
	}
}

func setString(given bool, into *string, v string) {
	if given {
		*into = v
	}
}

// readSecrets reads the admin password and the Graph credential (client
// secret or certificate file) the flags ask for.
func (f *endpointFlags) readSecrets(e *env, c *usecase.EndpointChange) error {
	var err error
	if c.Password, err = f.password.read(e, endpointUsage); err != nil {
		return err
	}
	if f.token.given() {
		c.Secret, err = f.token.read(e, endpointUsage)
		return err
	}
	if f.set["service-account-file"] {
		b, _, err := usecase.ReadServiceAccount(*f.saFile)
		if err != nil {
			return fmt.Errorf("--service-account-file: %w", err)
		}
		c.Secret = b
		return nil
	}
	if f.set["cert-file"] {
		b, _, err := usecase.ReadGraphCertificate(*f.certFile)
		if err != nil {
			return fmt.Errorf("--cert-file: %w", err)
		}
		c.Secret = b
		return nil
	}
	c.Secret, err = f.secret.read(e, endpointUsage)
	return err
}

// reportInvalid prints the field errors of a refused change as
// "invalid: field: reason" lines; other errors are returned as they are.
func reportInvalid(e *env, err error, proj string) error {
	var fe *project.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	reportFieldErrors(e.stderr, err)
	if strings.Contains(err.Error(), ews.RetirementNotice) {
		fmt.Fprintf(e.stderr, "Switch to Microsoft Graph with:\n  %s\n", graphSwitchCommand(proj, ""))
	}
	return errReported
}

// graphSwitchCommand is the command that makes the destination Graph.
func graphSwitchCommand(proj, cloud string) string {
	c := ""
	if cloud != "" && cloud != "global" {
		c = " --cloud " + cloud
	}
	if proj == "" {
		proj = "P"
	}
	return fmt.Sprintf("mailferry endpoint set --project %q --side dest --type graph --tenant TENANT --client-id APP_ID (--secret-env VAR | --cert-file PEM)%s", proj, c)
}

type secretDeleter interface{ DeleteSecret(ref string) error }

// dropSecrets deletes secrets sealed for a change that was not saved.
func dropSecrets(st secretDeleter, refs []string) {
	for _, r := range refs {
		_ = st.DeleteSecret(r)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
