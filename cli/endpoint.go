package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
)

const endpointUsage = `  mailferry endpoint set --project P --side source|dest --type imap
        --host H [--port N] [--security ssl|starttls|none] [--trust-fingerprint SHA256]
        [--admin-user U (--password-env VAR | --password-stdin)] [--login-template '{user}*{admin}']
  mailferry endpoint set --project P --side dest --type ews
        (--url EWS_URL | --owa-url URL | --autodiscover EMAIL | --provider NAME)
        [--admin-user U (--password-env VAR | --password-stdin)]
        [--access delegation|impersonation] [--auth basic|ntlm] [--trust-fingerprint SHA256]
  mailferry endpoint set --project P --side dest --type graph --tenant T --client-id ID
        (--secret-env VAR | --secret-stdin | --cert-file PEM)
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
	project.TypeIMAP:  {"host", "port", "security", "trust-fingerprint", "login-template"},
	project.TypeEWS:   {"url", "owa-url", "autodiscover", "provider", "access", "auth", "trust-fingerprint"},
	project.TypeGraph: {"tenant", "client-id", "secret-env", "secret-stdin", "cert-file"},
}

// defaultPort is the IMAP port for a security mode.
func defaultPort(s project.Security) int {
	if s == project.SecuritySSL {
		return 993
	}
	return 143
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

// endpointSet creates or changes an endpoint. When the endpoint already
// has the given type, flags not given keep their stored values; a new type
// starts from an empty endpoint. The admin password is kept unless a new
// one is given (or --admin-user changes without one: then it is dropped).
func endpointSet(e *env, args []string) error {
	fs := e.newFlags("endpoint set", false)
	var (
		projName = fs.String("project", "", "project name")
		sideS    = fs.String("side", "", "source or dest")
		typeS    = fs.String("type", "", "imap, ews or graph")
		host     = fs.String("host", "", "IMAP host name or address")
		port     = fs.Int("port", 0, "IMAP port (default 993 with ssl, else 143)")
		security = fs.String("security", "", "ssl, starttls or none (default ssl)")
		trustFP  = fs.String("trust-fingerprint", "", "trust a self-signed certificate with this SHA-256 fingerprint")
		template = fs.String("login-template", "", "admin login template, e.g. {user}*{admin}")
		admin    = fs.String("admin-user", "", "admin login")
		url      = fs.String("url", "", "EWS URL")
		owa      = fs.String("owa-url", "", "OWA URL")
		autod    = fs.String("autodiscover", "", "email address for Autodiscover")
		provider = fs.String("provider", "", "provider name from the catalog (mailferry providers list)")
		access   = fs.String("access", "", "delegation or impersonation")
		auth     = fs.String("auth", "", "basic or ntlm")
		tenant   = fs.String("tenant", "", "Entra ID tenant")
		clientID = fs.String("client-id", "", "application (client) id")
		certFile = fs.String("cert-file", "", "PEM `file` with the app's certificate and its RSA private key (instead of a client secret)")
	)
	password := addSecretFlags(fs, "password", "admin password")
	clientSecret := addSecretFlags(fs, "secret", "client secret")
	if _, err := parse(fs, args, endpointUsage, 0, 0); err != nil {
		return err
	}
	set := given(fs)
	if *projName == "" {
		return usagef(endpointUsage, "--project is required")
	}
	side, err := parseSide(endpointUsage, *sideS)
	if err != nil {
		return err
	}
	var urlFlags []string
	for _, f := range []string{"url", "owa-url", "autodiscover", "provider"} {
		if set[f] {
			urlFlags = append(urlFlags, "--"+f)
		}
	}
	if len(urlFlags) > 1 {
		return usagef(endpointUsage, "use only one of %s", strings.Join(urlFlags, ", "))
	}

	st, err := e.open()
	if err != nil {
		return err
	}
	p, err := st.Project(*projName)
	if err != nil {
		return fmt.Errorf("project %q: %w", *projName, err)
	}
	old := *endpointOf(&p, side)
	typ := project.EndpointType(strings.ToLower(*typeS))
	if typ == "" {
		typ = old.Type
	}
	if typ == "" {
		return usagef(endpointUsage, "--type is required (imap, ews or graph)")
	}
	// Flags of another endpoint type are a mistake, not something to ignore.
	for t, names := range flagsByType {
		if t == typ {
			continue
		}
		for _, n := range names {
			if set[n] && !contains(flagsByType[typ], n) {
				return usagef(endpointUsage, "--%s does not apply to a %s endpoint", n, typ)
			}
		}
	}

	ep := project.Endpoint{Type: typ}
	if old.Type == typ {
		ep = old
	}
	switch typ {
	case project.TypeIMAP:
		oldSec := ep.Security
		if set["host"] {
			ep.Host = strings.TrimSpace(*host)
		}
		if set["security"] {
			ep.Security = project.Security(strings.ToLower(*security))
		} else if ep.Security == "" {
			ep.Security = project.SecuritySSL
		}
		switch {
		case set["port"]:
			ep.Port = *port
		case ep.Port == 0 || (oldSec != "" && ep.Port == defaultPort(oldSec)):
			ep.Port = defaultPort(ep.Security)
		}
		if set["login-template"] {
			ep.LoginTemplate = *template
		}
	case project.TypeEWS:
		if len(urlFlags) == 1 {
			ep.URL, ep.OWAURL, ep.AutodiscoverEmail, ep.Provider = "", "", "", ""
		}
		if set["url"] {
			ep.URL = *url
		}
		if set["owa-url"] {
			ep.OWAURL = *owa
		}
		if set["autodiscover"] {
			ep.AutodiscoverEmail = *autod
		}
		if set["provider"] && strings.TrimSpace(*provider) != "" {
			name, err := catalogProvider(e, strings.TrimSpace(*provider))
			if err != nil {
				return err
			}
			ep.Provider = name
		}
		if set["access"] {
			ep.Access = project.Access(strings.ToLower(*access))
		}
		if set["auth"] {
			ep.Auth = strings.ToLower(*auth)
		}
	case project.TypeGraph:
		if set["tenant"] {
			ep.Tenant = *tenant
		}
		if set["client-id"] {
			ep.ClientID = *clientID
		}
	}
	if set["trust-fingerprint"] {
		ep.TrustFingerprint = project.NormalizeFingerprint(*trustFP)
	}
	if set["admin-user"] {
		if *admin != ep.AdminUser && !password.given() {
			ep.PasswordRef = "" // a password belongs to its login
		}
		ep.AdminUser = *admin
	}
	if password.given() && typ == project.TypeGraph {
		return usagef(endpointUsage, "a graph endpoint takes --secret-env, --secret-stdin or --cert-file, not a password")
	}
	// A Graph certificate credential is sealed as the endpoint's secret:
	// the PEM bundle itself (graph.IsCertificateCredential tells it from a
	// client secret by content).
	var certPEM []byte
	if set["cert-file"] {
		if clientSecret.given() {
			return usagef(endpointUsage, "use either --cert-file or --secret-env/--secret-stdin, not both")
		}
		if certPEM, err = readGraphCertificate(*certFile); err != nil {
			return err
		}
		defer clear(certPEM)
	}
	if password.given() && ep.AdminUser == "" {
		return usagef(endpointUsage, "a password needs --admin-user")
	}

	// Validate before sealing anything.
	check := p
	*endpointOf(&check, side) = ep
	if err := check.Validate(); err != nil {
		reportFieldErrors(e.stderr, err)
		return errReported
	}

	var newRefs []string
	seal := func(s *secretFlags, into *string) error {
		v, err := s.read(e, endpointUsage)
		if err != nil || v == nil {
			return err
		}
		ref, err := st.SetSecret(v)
		clear(v)
		if err != nil {
			return fmt.Errorf("seal secret: %w", err)
		}
		newRefs = append(newRefs, ref)
		*into = ref
		return nil
	}
	if err := seal(password, &ep.PasswordRef); err != nil {
		return err
	}
	if err := seal(clientSecret, &ep.SecretRef); err != nil {
		dropSecrets(st, newRefs)
		return err
	}
	if certPEM != nil {
		ref, err := st.SetSecret(certPEM)
		if err != nil {
			dropSecrets(st, newRefs)
			return fmt.Errorf("seal certificate: %w", err)
		}
		newRefs = append(newRefs, ref)
		ep.SecretRef = ref
	}
	err = st.UpdateProject(p.Name, func(q *project.Project) error {
		*endpointOf(q, side) = ep
		return nil
	})
	if err != nil {
		dropSecrets(st, newRefs)
		return fmt.Errorf("save %s endpoint: %w", side, err)
	}
	fmt.Fprintf(e.stdout, "%s endpoint of project %q: %s\n", side, p.Name, describeEndpoint(ep))
	if typ == project.TypeIMAP && ep.AdminUser != "" && ep.PasswordRef == "" {
		fmt.Fprintln(e.stderr, "note: no admin password stored (give --password-env VAR or --password-stdin)")
	}
	return nil
}

// readGraphCertificate reads and checks a Graph certificate credential
// file (certificate and unencrypted RSA private key, PEM).
func readGraphCertificate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cert-file: %w", err)
	}
	c, err := graph.ParseCertificateCredential(b)
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("--cert-file %s: %w", path, err)
	}
	if time.Now().After(c.Cert.NotAfter) {
		clear(b)
		return nil, fmt.Errorf("--cert-file %s: the certificate expired on %s", path, c.Cert.NotAfter.Format(time.DateOnly))
	}
	return b, nil
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
