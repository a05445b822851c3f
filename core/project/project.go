package project

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// EndpointType says which protocol an endpoint speaks.
type EndpointType string

const (
	TypeIMAP  EndpointType = "imap"
	TypeEWS   EndpointType = "ews"
	TypeGraph EndpointType = "graph"
	// TypeGWorkspace is Google Workspace over IMAP, admin-wide: a service
	// account with domain-wide delegation gets a token per user (XOAUTH2).
	TypeGWorkspace EndpointType = "gworkspace"
	// TypeGmail is one Gmail account over IMAP: the user's app password,
	// or an access token (SecretRef) obtained by the user.
	TypeGmail EndpointType = "gmail"
	// TypeM365IMAP is Microsoft 365 over IMAP with app-only OAuth (client
	// credentials, IMAP.AccessAsApp); tenant, client id and secret or
	// certificate as for TypeGraph.
	TypeM365IMAP EndpointType = "m365-imap"
)

// Provider defaults of the IMAP-family endpoint types.
const (
	GmailIMAPHost    = "imap.gmail.com"
	M365IMAPHost     = "outlook.office365.com"
	DefaultAuthority = "https://login.microsoftonline.com"
	// GmailScope is the OAuth scope of IMAP access to Gmail.
	GmailScope = "https://mail.google.com/"
	// M365IMAPScope is the client-credentials scope of Exchange Online IMAP
	// in the global cloud (graph.Cloud.IMAPScope for the others).
	M365IMAPScope = "https://outlook.office365.com/.default"
)

// DefaultGmailDailyMB is the download budget per Gmail mailbox and pass,
// under Google's limit of about 2,500 MB per user and day.
const DefaultGmailDailyMB = 2400

// IsIMAP reports whether endpoints of type t are reached over IMAP (with
// a password or an OAuth token).
func (t EndpointType) IsIMAP() bool {
	switch t {
	case TypeIMAP, TypeGWorkspace, TypeGmail, TypeM365IMAP:
		return true
	}
	return false
}

// IsOAuth reports whether endpoints of type t always log in with OAuth
// tokens (an IMAP endpoint may too, when it holds a token).
func (t EndpointType) IsOAuth() bool { return t == TypeGWorkspace || t == TypeM365IMAP }

// DefaultHost is the IMAP host of a provider type ("" for others).
func (t EndpointType) DefaultHost() string {
	switch t {
	case TypeGWorkspace, TypeGmail:
		return GmailIMAPHost
	case TypeM365IMAP:
		return M365IMAPHost
	}
	return ""
}

// Security is the transport security of an IMAP (or SMTP) endpoint.
type Security string

const (
	SecuritySSL      Security = "ssl"      // implicit TLS (993)
	SecurityStartTLS Security = "starttls" // STARTTLS on the plain port (143)
	SecurityNone     Security = "none"
)

// Access is how an Exchange admin reaches user mailboxes.
type Access string

const (
	AccessDelegation    Access = "delegation"
	AccessImpersonation Access = "impersonation"
)

// Side names one end of a migration.
type Side string

const (
	SideSource Side = "source"
	SideDest   Side = "dest"
)

// Endpoint describes a server MailFerry reads from or writes to.
// Secrets are never held here in clear: PasswordRef names a sealed secret
// in the store.
type Endpoint struct {
	Type EndpointType `json:"type"`

	// IMAP
	Host             string   `json:"host,omitempty"`
	Port             int      `json:"port,omitempty"`
	Security         Security `json:"security,omitempty"`
	TrustFingerprint string   `json:"trust_fingerprint,omitempty"` // SHA-256 of the leaf certificate, hex
	// LoginTemplate builds the login used with admin credentials, e.g.
	// "{user}*{admin}" (Dovecot master user) or "{domain}/{admin}/{user}".
	LoginTemplate string `json:"login_template,omitempty"`

	// Admin credentials (all types).
	AdminUser   string `json:"admin_user,omitempty"`
	PasswordRef string `json:"password_ref,omitempty"`

	// EWS
	URL               string `json:"url,omitempty"`
	OWAURL            string `json:"owa_url,omitempty"`
	AutodiscoverEmail string `json:"autodiscover_email,omitempty"`
	Provider          string `json:"provider,omitempty"`
	Access            Access `json:"access,omitempty"`
	Auth              string `json:"auth,omitempty"` // basic | ntlm

	// Graph and m365-imap
	Tenant   string `json:"tenant,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// SecretRef names the sealed credential that is not a password: the
	// Graph / m365-imap client secret or certificate (PEM), the
	// gworkspace service-account JSON key, or an imap/gmail access token.
	SecretRef string `json:"secret_ref,omitempty"`
	// Cloud is the Microsoft cloud: global (default), usgov, usgov-dod or
	// china; it picks the Graph root and the sign-in authority, and for
	// m365-imap the token scope and the default IMAP host.
	Cloud string `json:"cloud,omitempty"`
	// GraphURL and Authority override the cloud's Graph root and sign-in
	// authority (tests, proxies); https only.
	GraphURL  string `json:"graph_url,omitempty"`
	Authority string `json:"authority,omitempty"`
	// ServiceAccount is the gworkspace key's client_email (for display;
	// the key itself is sealed under SecretRef).
	ServiceAccount string `json:"service_account,omitempty"`
	// IncludeTrashSpam migrates Gmail's [Gmail]/Trash and [Gmail]/Spam
	// (skipped by default) to the destination's Deleted Items and Junk.
	IncludeTrashSpam bool `json:"include_trash_spam,omitempty"`
	// DailyLimitMB is how many MB of mail MailFerry downloads from one
	// Gmail mailbox in a pass before pausing it (Google allows about
	// 2,500 MB of IMAP download per user and day); 0 = DefaultGmailDailyMB.
	DailyLimitMB int `json:"daily_limit_mb,omitempty"`
}

// TakesUserPasswords reports whether users log in to this endpoint with
// their own passwords: IMAP, or a Gmail account with app passwords (no
// access token or Google sign-in stored). The credential request asks
// users for them.
func (e Endpoint) TakesUserPasswords() bool {
	return e.Type == TypeIMAP || (e.Type == TypeGmail && e.SecretRef == "")
}

// IsZero reports whether the endpoint has not been configured.
func (e Endpoint) IsZero() bool { return e.Type == "" }

// FieldError is a validation error tied to one field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks the endpoint and returns every problem found, joined.
func (e Endpoint) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	switch e.Type {
	case TypeIMAP, TypeGWorkspace, TypeGmail, TypeM365IMAP:
		if e.Type == TypeM365IMAP {
			e.validateApp(bad)
			e.validateCloud(bad)
		} else if e.Cloud != "" {
			bad("cloud", "only a Microsoft 365 (m365-imap) source or a graph destination has a cloud")
		}
		if e.DailyLimitMB < 0 || e.DailyLimitMB > 100000 {
			bad("daily_limit_mb", "%d is not a number of MB (0 = %d, Gmail allows about 2,500 a day)", e.DailyLimitMB, DefaultGmailDailyMB)
		}
		e.validateIMAP(bad)
	case TypeEWS:
		e.validateEWS(bad)
	case TypeGraph:
		e.validateGraph(bad)
	case "":
		bad("type", "is required (imap, gworkspace, gmail, m365-imap, ews or graph)")
	default:
		bad("type", "%q is not one of imap, gworkspace, gmail, m365-imap, ews, graph", e.Type)
	}
	return errors.Join(errs...)
}

// validateIMAP checks the fields of the IMAP-speaking types.
func (e Endpoint) validateIMAP(bad func(field, format string, a ...any)) {
	if e.Host == "" {
		bad("host", "is required")
	} else if strings.ContainsAny(e.Host, " /\\@:") && !strings.HasPrefix(e.Host, "[") {
		bad("host", "%q is not a host name or address", e.Host)
	}
	if e.Port < 1 || e.Port > 65535 {
		bad("port", "%d is not a TCP port (1-65535)", e.Port)
	}
	switch e.Security {
	case SecuritySSL, SecurityStartTLS, SecurityNone:
	default:
		bad("security", "%q is not one of ssl, starttls, none", e.Security)
	}
	if e.TrustFingerprint != "" && !fingerprintRE.MatchString(NormalizeFingerprint(e.TrustFingerprint)) {
		bad("trust_fingerprint", "must be a SHA-256 fingerprint (64 hex digits)")
	}
	if err := ValidateLoginTemplate(e.LoginTemplate); err != nil {
		bad("login_template", "%v", err)
	}
}

// EWSServerFields are the fields that say where an EWS endpoint's server
// is, as FieldError names them, with the words the faces use. Exactly one
// is given (usecase.SaveEndpoint refuses more: the others would be
// ignored, since the URL wins over the OWA URL, the provider and
// Autodiscover).
var EWSServerFields = []struct{ Field, Label string }{
	{"url", "EWS URL"}, {"owa_url", "OWA URL"}, {"provider", "provider"}, {"autodiscover_email", "Autodiscover email"},
}

// EWSServerGiven lists the EWSServerFields that e sets, in that order.
func (e Endpoint) EWSServerGiven() []string {
	var out []string
	for _, f := range EWSServerFields {
		if e.ewsServerValue(f.Field) != "" {
			out = append(out, f.Field)
		}
	}
	return out
}

func (e Endpoint) ewsServerValue(field string) string {
	switch field {
	case "url":
		return e.URL
	case "owa_url":
		return e.OWAURL
	case "provider":
		return e.Provider
	case "autodiscover_email":
		return e.AutodiscoverEmail
	}
	return ""
}

// validateEWS checks the fields of a Hosted Exchange endpoint.
func (e Endpoint) validateEWS(bad func(field, format string, a ...any)) {
	n := 0
	for _, s := range []string{e.URL, e.OWAURL, e.AutodiscoverEmail, e.Provider} {
		if s != "" {
			n++
		}
	}
	if n == 0 {
		bad("url", "one of EWS URL, OWA URL, Autodiscover email or provider is required")
	}
	for _, u := range []struct{ f, v string }{{"url", e.URL}, {"owa_url", e.OWAURL}} {
		switch {
		case u.v == "" || strings.HasPrefix(strings.ToLower(u.v), "https://"):
		case strings.HasPrefix(strings.ToLower(u.v), "http://"):
			bad(u.f, "%q uses plain http, which would send the password in clear: use the https:// address", u.v)
		default:
			bad(u.f, "%q must start with https://", u.v)
		}
	}
	if e.AutodiscoverEmail != "" && !ValidEmail(e.AutodiscoverEmail) {
		bad("autodiscover_email", "%q is not an email address", e.AutodiscoverEmail)
	}
	switch e.Access {
	case "", AccessDelegation, AccessImpersonation:
	default:
		bad("access", "%q is not one of delegation, impersonation", e.Access)
	}
	switch e.Auth {
	case "", "basic", "ntlm":
	default:
		bad("auth", "%q is not one of basic, ntlm", e.Auth)
	}
}

// validateGraph checks the fields of an Exchange Online endpoint.
func (e Endpoint) validateGraph(bad func(field, format string, a ...any)) {
	if e.Tenant == "" {
		bad("tenant", "is required")
	}
	if e.ClientID == "" {
		bad("client_id", "is required")
	}
	e.validateCloud(bad)
	for _, u := range []struct{ f, v string }{{"graph_url", e.GraphURL}, {"authority", e.Authority}} {
		if u.v != "" && !strings.HasPrefix(strings.ToLower(u.v), "https://") {
			bad(u.f, "%q must be an https:// URL", u.v)
		}
	}
}

// validateCloud checks the Microsoft cloud of graph and m365-imap (the
// table itself is core/dest/graph's Clouds).
func (e Endpoint) validateCloud(bad func(field, format string, a ...any)) {
	switch e.Cloud {
	case "", "global", "usgov", "usgov-dod", "china":
	default:
		bad("cloud", "%q is not one of global, usgov, usgov-dod, china", e.Cloud)
	}
}

// validateApp checks the Entra ID app settings of graph and m365-imap.
func (e Endpoint) validateApp(bad func(field, format string, a ...any)) {
	if e.Tenant == "" {
		bad("tenant", "is required")
	}
	if e.ClientID == "" {
		bad("client_id", "is required")
	}
	if e.Authority != "" && !SecureOrLoopbackURL(e.Authority) {
		bad("authority", "%q must be an https:// URL (http:// only to this computer)", e.Authority)
	}
}

// SecureOrLoopbackURL reports whether u is an https URL, or an http URL
// to this computer (127.0.0.1, ::1, localhost: tests and local proxies),
// so that credentials never cross a network in clear.
func SecureOrLoopbackURL(u string) bool {
	if strings.HasPrefix(u, "https://") {
		return len(u) > len("https://")
	}
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return false
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// NormalizeFingerprint lower-cases a fingerprint and drops ':' and spaces.
func NormalizeFingerprint(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "sha256:")
	return strings.NewReplacer(":", "", " ", "").Replace(s)
}

// Status is a user's migration status, as in MigrationWiz.
type Status string

const (
	StatusNotSubmitted      Status = "Not Submitted"
	StatusSubmitted         Status = "Submitted"
	StatusQueued            Status = "Queued"
	StatusWaitingForEndUser Status = "Waiting For End User"
	StatusRunning           Status = "Running"
	StatusCompleted         Status = "Completed"
	// StatusVerified: a Verify Credentials pass logged in to both sides
	// and listed the source's folders; no mail was moved.
	StatusVerified            Status = "Credentials Verified"
	StatusCompletedWithErrors Status = "Completed With Errors"
	StatusFailed              Status = "Failed"
	StatusStopped             Status = "Stopped"
)

// Pass is one kind of migration run.
type Pass string

const (
	PassVerify   Pass = "verify"
	PassTrial    Pass = "trial"
	PassPrestage Pass = "prestage"
	PassFull     Pass = "full"
	PassRetry    Pass = "retry"
)

// User is one mailbox to migrate.
type User struct {
	SourceEmail       string `json:"source_email"`
	SourceLogin       string `json:"source_login,omitempty"`
	SourcePasswordRef string `json:"source_password_ref,omitempty"`
	DestEmail         string `json:"dest_email"`
	DestLogin         string `json:"dest_login,omitempty"`
	DestPasswordRef   string `json:"dest_password_ref,omitempty"`
	UserRoot          string `json:"user_root,omitempty"` // Microsoft CSV UserRoot
	Flags             string `json:"flags,omitempty"`
	// SupportOptions are "Key=Value" lines overriding the project's options.
	SupportOptions []string `json:"support_options,omitempty"`
	// AddressesOnly marks a user imported without passwords (credential request).
	AddressesOnly bool      `json:"addresses_only,omitempty"`
	Status        Status    `json:"status"`
	LastPass      Pass      `json:"last_pass,omitempty"`
	Notified      time.Time `json:"notified,omitempty"`
}

// ID is the user's key inside a project: the lower-cased source email.
func (u User) ID() string { return strings.ToLower(strings.TrimSpace(u.SourceEmail)) }

// Validate checks the user's addresses and support options.
func (u User) Validate() error {
	var errs []error
	if !ValidEmail(u.SourceEmail) {
		errs = append(errs, &FieldError{"source_email", fmt.Sprintf("%q is not an email address", u.SourceEmail)})
	}
	if u.DestEmail != "" && !ValidEmail(u.DestEmail) {
		errs = append(errs, &FieldError{"dest_email", fmt.Sprintf("%q is not an email address", u.DestEmail)})
	}
	if _, err := ParseSupportOptions(u.SupportOptions); err != nil {
		errs = append(errs, &FieldError{"support_options", err.Error()})
	}
	return errors.Join(errs...)
}

// ValidEmail reports whether s is a bare addr-spec such as user@example.com.
func ValidEmail(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, "<> ,;") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.HasPrefix(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

// Options are project-wide migration settings.
type Options struct {
	MaxConcurrentUsers int `json:"max_concurrent_users"`
	MaxErrorsPerUser   int `json:"max_errors_per_user"`
	// FolderMapping rules "REGEX->REPLACEMENT", applied in order.
	FolderMapping []string `json:"folder_mapping,omitempty"`
	// FolderFilter is a case-insensitive regex on the "/"-separated source
	// path; matching folders are skipped.
	FolderFilter  string    `json:"folder_filter,omitempty"`
	DateFrom      time.Time `json:"date_from,omitempty"`
	DateTo        time.Time `json:"date_to,omitempty"`
	MaxItemSizeMB int       `json:"max_item_size_mb,omitempty"`
	PrestageDays  int       `json:"prestage_days,omitempty"`
	// IncludeSharedFolders migrates the folders of the source's shared and
	// other users' namespaces too (RFC 2342); by default only the user's
	// own (personal) folders are migrated.
	IncludeSharedFolders bool `json:"include_shared_folders,omitempty"`
}

// DefaultOptions are the options of a new project.
func DefaultOptions() Options {
	return Options{MaxConcurrentUsers: 4, MaxErrorsPerUser: 100, PrestageDays: 90}
}

// Validate checks option ranges and rule syntax.
func (o Options) Validate() error {
	var errs []error
	if o.MaxConcurrentUsers < 1 || o.MaxConcurrentUsers > 100 {
		errs = append(errs, &FieldError{"max_concurrent_users", "must be between 1 and 100"})
	}
	if o.MaxErrorsPerUser < 0 {
		errs = append(errs, &FieldError{"max_errors_per_user", "must not be negative"})
	}
	for i, r := range o.FolderMapping {
		if _, _, err := ParseMappingRule(r); err != nil {
			errs = append(errs, &FieldError{fmt.Sprintf("folder_mapping[%d]", i+1), err.Error()})
		}
	}
	if o.FolderFilter != "" {
		if _, err := regexp.Compile("(?i)" + o.FolderFilter); err != nil {
			errs = append(errs, &FieldError{"folder_filter", err.Error()})
		}
	}
	if o.MaxItemSizeMB < 0 {
		errs = append(errs, &FieldError{"max_item_size_mb", "must not be negative"})
	}
	if o.PrestageDays < 0 {
		errs = append(errs, &FieldError{"prestage_days", "must not be negative"})
	}
	if !o.DateFrom.IsZero() && !o.DateTo.IsZero() && o.DateTo.Before(o.DateFrom) {
		errs = append(errs, &FieldError{"date_to", "is before date_from"})
	}
	return errors.Join(errs...)
}

// ParseMappingRule splits `REGEX->REPLACEMENT` (optionally wrapped in
// FolderMapping="...") and compiles the regex.
func ParseMappingRule(rule string) (*regexp.Regexp, string, error) {
	r := strings.TrimSpace(rule)
	if strings.HasPrefix(r, "FolderMapping=") {
		r = strings.TrimPrefix(r, "FolderMapping=")
	}
	if len(r) >= 2 && r[0] == '"' && r[len(r)-1] == '"' {
		r = r[1 : len(r)-1]
	}
	i := strings.LastIndex(r, "->")
	if i < 0 {
		return nil, "", fmt.Errorf("rule %q has no \"->\" between pattern and replacement", rule)
	}
	re, err := regexp.Compile(r[:i])
	if err != nil {
		return nil, "", fmt.Errorf("rule %q: %w", rule, err)
	}
	return re, r[i+2:], nil
}

// Project is one customer's migration.
type Project struct {
	Name     string    `json:"name"`
	Customer string    `json:"customer,omitempty"`
	Source   Endpoint  `json:"source"`
	Dest     Endpoint  `json:"dest"`
	Options  Options   `json:"options"`
	SMTP     SMTP      `json:"smtp,omitempty"`
	Created  time.Time `json:"created"`
	Demo     bool      `json:"demo,omitempty"`
}

// SMTP holds the project's outgoing mail settings.
type SMTP struct {
	Host        string   `json:"host,omitempty"`
	Port        int      `json:"port,omitempty"`
	Security    Security `json:"security,omitempty"`
	From        string   `json:"from,omitempty"`
	User        string   `json:"user,omitempty"`
	PasswordRef string   `json:"password_ref,omitempty"`
}

// validName reports whether name is 1-100 letters, digits, spaces and
// . _ - ( ) & ' starting with a letter or digit. (The regexp
// `^[\p{L}\p{N}][\p{L}\p{N} ._\-()&']{0,99}$` said the same, but compiled
// at start-up it kept 3.6 MB of Unicode tables on the heap of every run.)
func validName(name string) bool {
	n := 0
	for _, c := range name {
		n++
		switch {
		case n > 100 || c == utf8.RuneError:
			return false
		case unicode.IsLetter(c) || unicode.IsNumber(c):
		case n > 1 && strings.ContainsRune(" ._-()&'", c):
		default:
			return false
		}
	}
	return n > 0
}

// ValidateName checks a project name.
func ValidateName(name string) error {
	if !validName(name) {
		return &FieldError{"name", fmt.Sprintf("%q: use 1-100 letters, digits, spaces and . _ - ( ) & ' (starting with a letter or digit)", name)}
	}
	return nil
}

// Validate checks the project's name, options and configured endpoints.
func (p Project) Validate() error {
	var errs []error
	if err := ValidateName(p.Name); err != nil {
		errs = append(errs, err)
	}
	if err := p.Options.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !p.Source.IsZero() {
		if err := p.Source.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("source: %w", err))
		}
		if !p.Source.Type.IsIMAP() {
			errs = append(errs, &FieldError{"source.type", "the source must be IMAP (imap, gworkspace, gmail or m365-imap)"})
		}
	}
	if !p.Dest.IsZero() {
		if err := p.Dest.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("dest: %w", err))
		}
	}
	return errors.Join(errs...)
}

// exchangeOnlineHosts are Exchange Online's EWS and OWA hosts (global and
// national clouds).
var exchangeOnlineHosts = []string{
	"outlook.office365.com", "outlook.office.com", "outlook.office365.us",
	"webmail.apps.mil", "partner.outlook.cn",
}

// IsExchangeOnlineHost says whether host (no port) is Exchange Online
// rather than a hosted or on-premises Exchange server.
func IsExchangeOnlineHost(host string) bool {
	return slices.Contains(exchangeOnlineHosts, strings.ToLower(strings.TrimSuffix(host, ".")))
}

// DefaultIMAPPort is the IMAP port of a security mode: 993 with implicit
// TLS, else 143.
func DefaultIMAPPort(s Security) int {
	if s == SecuritySSL {
		return 993
	}
	return 143
}

// WithDefaultPort returns the endpoint with an unset IMAP port (0) filled
// in as its security mode's default (DefaultIMAPPort; ssl when the mode is
// unset too), so an empty port means "the usual one", never port 0. The
// GUI's empty Port field and the CLI's omitted --port both go through it.
func (e Endpoint) WithDefaultPort() Endpoint {
	switch e.Type {
	case TypeIMAP, TypeGWorkspace, TypeGmail, TypeM365IMAP:
		if e.Port == 0 {
			sec := e.Security
			if sec == "" {
				sec = SecuritySSL
			}
			e.Port = DefaultIMAPPort(sec)
		}
	}
	return e
}

// DefaultSMTPPort is the submission port of a security mode: 465
// (implicit TLS), 587 (STARTTLS, and the default) or 25 (none).
func DefaultSMTPPort(s Security) int {
	switch s {
	case SecuritySSL:
		return 465
	case SecurityNone:
		return 25
	}
	return 587
}
