package gui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// Labels of the security and destination-type selects.
var (
	securityLabels = []string{"SSL/TLS", "STARTTLS", "None"}
	securityValues = []project.Security{project.SecuritySSL, project.SecurityStartTLS, project.SecurityNone}
	destTypeLabels = []string{"IMAP", "Hosted Exchange (EWS)", "Exchange Online (Graph)"}
	destTypeValues = []project.EndpointType{project.TypeIMAP, project.TypeEWS, project.TypeGraph}
	// Source types: IMAP with passwords, or a provider reached with OAuth.
	srcTypeLabels = []string{"IMAP", "Google Workspace", "Gmail account", "Microsoft 365 (IMAP)"}
	srcTypeValues = []project.EndpointType{project.TypeIMAP, project.TypeGWorkspace, project.TypeGmail, project.TypeM365IMAP}
	accessLabels  = []string{"Delegation (FullAccess)", "Impersonation"}
	accessValues  = []project.Access{project.AccessDelegation, project.AccessImpersonation}
	authLabels    = []string{"Basic", "NTLM"}
	authValues    = []string{"basic", "ntlm"}
)

func labelOf[T comparable](labels []string, values []T, v T) string {
	for i, x := range values {
		if x == v {
			return labels[i]
		}
	}
	return ""
}

func valueOf[T comparable](labels []string, values []T, l string) T {
	for i, x := range labels {
		if x == l {
			return values[i]
		}
	}
	var zero T
	return zero
}

// endpointForm edits one side of the project.
type endpointForm struct {
	t    *endpointsTab
	side project.Side

	fields   *fieldSet
	typ      *widget.Select // source and destination type
	host     *widget.Entry
	port     *widget.Entry
	security *widget.Select
	trust    *widget.Entry
	admin    *widget.Entry
	password *widget.Entry
	template *widget.Entry
	provider *widget.Select

	// "Edit providers…" and its last dialog (gui/providers.go)
	editProviders *widget.Button
	provEditor    *providerEditor

	url      *widget.Entry
	owaURL   *widget.Entry
	autodisc *widget.Entry
	// serverBy picks the one way an EWS server is found (EWS URL, OWA
	// URL, provider or Autodiscover email); only its row shows.
	serverBy *widget.Select
	access   *widget.Select
	auth     *widget.Select
	tenant   *widget.Entry
	clientID *widget.Entry
	secret   *widget.Entry
	// Graph credential: a client secret, or a certificate credential
	// (a PEM file with the certificate and its private key, sealed as the
	// endpoint's secret).
	credKind *widget.RadioGroup
	certPath *widget.Entry
	certInfo *widget.Label

	gw graphWidgets // cloud, Advanced, Exchange Online banner (endpoints_graph.go)

	oa oauthWidgets // Google Workspace key, access token, authority (endpoints_oauth.go)

	saved project.Endpoint // as stored: keeps the secret refs

	save     *widget.Button
	test     *widget.Button
	activity *widget.Activity
	result   *reportView // the test report, marks coloured (report.go)
	trustBtn *widget.Button
	certFP   string // fingerprint offered by the last test
	status   *widget.Label
	testDone func() // called after a test result is shown (tests hook it)

	content fyne.CanvasObject

	// Unsaved edits (endpoints_unsaved.go).
	baseline  string
	loading   bool
	dirtyMark *widget.Label
}

type endpointsTab struct {
	u       *UI
	source  *endpointForm
	dest    *endpointForm
	content fyne.CanvasObject
}

func newEndpointsTab(u *UI) *endpointsTab {
	t := &endpointsTab{u: u}
	t.source = newEndpointForm(t, project.SideSource)
	t.dest = newEndpointForm(t, project.SideDest)
	t.content = container.NewGridWithColumns(2, t.source.content, t.dest.content)
	return t
}

func newEndpointForm(t *endpointsTab, side project.Side) *endpointForm {
	f := &endpointForm{t: t, side: side, fields: newFieldSet()}
	f.newFieldWidgets()
	title := f.addRows()
	f.newButtons()
	head := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	buttons := container.NewHBox(f.save, f.test, f.activity, f.trustBtn)
	f.dirtyMark = widget.NewLabelWithStyle("• Unsaved changes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	f.dirtyMark.Importance = widget.WarningImportance
	f.dirtyMark.Hide()
	f.content = container.NewVScroll(container.NewPadded(container.NewVBox(
		// The error summary sits under the buttons: showing it moves
		// neither a field nor a button.
		container.NewHBox(head, f.dirtyMark), f.fields.box, buttons, f.fields.general, f.status, f.result.rt)))
	f.watchEdits(f.content)
	f.showType()
	return f
}

// newFieldWidgets creates the form's entries and selects.
func (f *endpointForm) newFieldWidgets() {
	entry := func(placeholder string) *widget.Entry {
		e := widget.NewEntry()
		e.PlaceHolder = placeholder
		return e
	}
	f.host = entry("imap.example.com")
	f.port = entry("993")
	f.security = widget.NewSelect(securityLabels, func(s string) {
		// A port that is empty or another mode's default follows the mode.
		sec := valueOf(securityLabels, securityValues, s)
		if sec == "" {
			return
		}
		ssl, plain := strconv.Itoa(project.DefaultIMAPPort(project.SecuritySSL)), strconv.Itoa(project.DefaultIMAPPort(project.SecurityStartTLS))
		if f.port.Text == "" || f.port.Text == ssl || f.port.Text == plain {
			f.port.SetText(strconv.Itoa(project.DefaultIMAPPort(sec)))
		}
	})
	f.trust = fingerprintEntry()
	f.admin = entry("admin login (optional for IMAP)")
	f.password = widget.NewPasswordEntry()
	f.template = entry("{user}*{admin}")
	f.provider = widget.NewSelect(providerNames(), f.providerChosen)
	f.provider.PlaceHolder = "(none: enter the URL)"
	f.url = entry("https://mail.example.com/EWS/Exchange.asmx")
	f.owaURL = entry("https://mail.example.com/owa")
	f.autodisc = entry("someone@example.com")
	f.serverBy = widget.NewSelect(serverByLabels(), nil)
	f.serverBy.SetSelected(serverByLabels()[0])
	f.serverBy.OnChanged = func(string) { f.showType() }
	f.access = widget.NewSelect(accessLabels, nil)
	f.auth = widget.NewSelect(authLabels, nil)
	f.tenant = entry("contoso.onmicrosoft.com or tenant id")
	f.clientID = entry("application (client) id")
	f.secret = widget.NewPasswordEntry()
	f.credKind = widget.NewRadioGroup(credKindLabels, func(string) { f.showType() })
	f.credKind.Horizontal = true
	f.credKind.Required = true
	f.certPath = entry("PEM file with the certificate and its private key")
	f.certInfo = widget.NewLabel("")
	f.certInfo.Wrapping = fyne.TextWrapWord
}

// addRows lays out the rows of the form's side and returns its title.
func (f *endpointForm) addRows() string {
	side := f.side
	title := "Source"
	if side == project.SideDest {
		title = "Destination"
		f.typ = widget.NewSelect(destTypeLabels, func(string) { f.showType() })
		f.fields.add("type", "Type", f.typ)
		f.fields.add("server_by", "Find server by", f.serverBy)
		f.fields.add("provider", "Provider", f.providerRow())
	} else {
		f.typ = widget.NewSelect(srcTypeLabels, f.sourceTypeChosen)
		f.fields.add("type", "Type", f.typ)
	}
	f.fields.add("host", "Host", f.host)
	f.fields.add("port", "Port", f.port)
	f.fields.add("security", "Security", f.security)
	f.fields.add("trust_fingerprint", "Trust fingerprint", f.trust)
	if side == project.SideDest {
		f.fields.add("url", "EWS URL", f.url)
		f.fields.add("owa_url", "OWA URL", f.owaURL)
		f.fields.add("autodiscover_email", "Autodiscover email", f.autodisc)
		f.addGraphHelp()
		f.fields.add("tenant", "Tenant", f.tenant)
		f.fields.add("client_id", "Client ID", f.clientID)
		f.fields.add("credential", "Credential", f.credKind)
		f.fields.add("secret", "Client secret", f.secret)
		choose := widget.NewButton("Choose…", f.chooseCertificate)
		f.fields.add("certificate", "Certificate", container.NewVBox(container.NewBorder(nil, nil, nil, choose, f.certPath), f.certInfo))
		f.addGraphRows()
	} else {
		f.addOAuthRows()
	}
	f.fields.add("admin_user", "Admin user", f.admin)
	f.fields.add("password", "Admin password", f.password)
	f.fields.add("login_template", "Login template", f.template)
	if side == project.SideDest {
		f.fields.add("access", "Access", f.access)
		f.fields.add("auth", "Authentication", f.auth)
	}
	return title
}

// newButtons creates Save, Test connection, the spinner, the trust button
// and the result labels.
func (f *endpointForm) newButtons() {
	t := f.t
	f.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		if err := f.saveEndpoint(); err != nil && !isValidation(err) {
			t.u.showError(err)
		}
	})
	f.save.Importance = widget.HighImportance
	f.test = widget.NewButtonWithIcon("Test connection", theme.MediaPlayIcon(), f.runTest)
	f.activity = widget.NewActivity()
	f.activity.Hide()
	f.result = newReportView()
	f.trustBtn = widget.NewButtonWithIcon("Trust this certificate", theme.ConfirmIcon(), f.trustCert)
	f.trustBtn.Hide()
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
}

// validationError marks errors already shown inline.
type validationError struct{ err error }

func (e validationError) Error() string { return e.err.Error() }
func (e validationError) Unwrap() error { return e.err }

func isValidation(err error) bool {
	var v validationError
	return errors.As(err, &v)
}

// kind is the endpoint type the form currently edits.
func (f *endpointForm) kind() project.EndpointType {
	if f.side == project.SideSource {
		if k := valueOf(srcTypeLabels, srcTypeValues, f.typ.Selected); k != "" {
			return k
		}
		return project.TypeIMAP
	}
	return valueOf(destTypeLabels, destTypeValues, f.typ.Selected)
}

// showType shows the rows relevant to the selected type.
func (f *endpointForm) showType() {
	k := f.kind()
	if f.side == project.SideSource {
		f.showSourceType(k)
		return
	}
	imap := k == project.TypeIMAP || k == ""
	ews := k == project.TypeEWS
	graph := k == project.TypeGraph
	f.fields.show(imap, "host", "port", "security", "login_template")
	f.admin.SetPlaceHolder(adminPlaceholder(k))
	f.fields.show(imap || ews || graph, "trust_fingerprint")
	if f.side == project.SideDest {
		f.fields.show(ews, "server_by", "access", "auth")
		for _, sf := range project.EWSServerFields {
			f.fields.show(ews && f.serverField() == sf.Field, sf.Field)
		}
		f.fields.show(graph, "tenant", "client_id", "credential")
		f.fields.show(graph && !f.certMode(), "secret")
		f.fields.show(graph && f.certMode(), "certificate")
		f.fields.show(!graph, "admin_user", "password")
		f.showGraphRows(k)
	}
}

// adminPlaceholder words the admin login hint for the endpoint type: only
// IMAP can do without one (users log in with their own passwords).
func adminPlaceholder(k project.EndpointType) string {
	switch k {
	case project.TypeEWS:
		return "Exchange admin login (the account with impersonation or delegation rights)"
	case project.TypeIMAP, "":
		return "admin login (optional for IMAP)"
	}
	return "admin login"
}

// load fills the form from the stored endpoint.
func (f *endpointForm) load(e project.Endpoint) {
	f.loading = true
	defer func() { f.loading = false; f.resetBaseline() }()
	f.saved = e
	if f.side == project.SideSource {
		typ := e.Type
		if typ == "" {
			typ = project.TypeIMAP
		}
		f.typ.SetSelected(labelOf(srcTypeLabels, srcTypeValues, typ))
	}
	if f.side == project.SideDest {
		typ := e.Type
		if typ == "" {
			typ = project.TypeIMAP
		}
		f.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, typ))
	}
	f.host.SetText(e.Host)
	sec := e.Security
	if sec == "" {
		sec = project.SecuritySSL
	}
	f.security.SetSelected(labelOf(securityLabels, securityValues, sec))
	// The port shows the value that will be used, never a bare placeholder.
	f.port.SetText(strconv.Itoa(project.Endpoint{Type: project.TypeIMAP, Port: e.Port, Security: sec}.WithDefaultPort().Port))
	f.trust.SetText(e.TrustFingerprint)
	f.admin.SetText(e.AdminUser)
	f.template.SetText(e.LoginTemplate)
	if e.Provider == "" {
		f.provider.ClearSelected() // SetSelected("") would keep another project's
	} else {
		f.provider.SetSelected(e.Provider)
	}
	f.url.SetText(e.URL)
	f.owaURL.SetText(e.OWAURL)
	f.autodisc.SetText(e.AutodiscoverEmail)
	f.serverBy.SetSelected(serverByLabel(serverFieldOf(e)))
	acc := e.Access
	if acc == "" {
		acc = project.AccessDelegation
	}
	f.access.SetSelected(labelOf(accessLabels, accessValues, acc))
	auth := e.Auth
	if auth == "" {
		auth = "basic"
	}
	f.auth.SetSelected(labelOf(authLabels, authValues, auth))
	f.tenant.SetText(e.Tenant)
	f.clientID.SetText(e.ClientID)
	f.password.SetText("")
	f.secret.SetText("")
	f.password.SetPlaceHolder(storedPlaceholder(e.PasswordRef))
	f.secret.SetPlaceHolder(storedPlaceholder(e.SecretRef))
	f.loadGraphCredential(e)
	if f.side == project.SideDest {
		f.loadGraph(e)
	} else {
		f.loadOAuth(e)
	}
	f.fields.setError(nil)
	f.status.Importance = widget.MediumImportance
	f.status.SetText("")
	f.result.SetText("")
	f.trustBtn.Hide()
	f.showType()
}

func storedPlaceholder(ref string) string {
	if ref != "" {
		return "(stored: type to replace)"
	}
	return ""
}

// endpoint builds the endpoint from the form (secret refs from the stored
// one; typed secrets are sealed on save).
func (f *endpointForm) endpoint() (project.Endpoint, error) {
	e := project.Endpoint{Type: f.kind(), PasswordRef: f.saved.PasswordRef, SecretRef: f.saved.SecretRef}
	e.AdminUser = strings.TrimSpace(f.admin.Text)
	switch e.Type {
	case project.TypeIMAP, project.TypeGWorkspace, project.TypeGmail, project.TypeM365IMAP:
		e.Host = strings.TrimSpace(f.host.Text)
		if p := strings.TrimSpace(f.port.Text); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return e, &project.FieldError{Field: "port", Reason: fmt.Sprintf("%q is not a number", p)}
			}
			e.Port = n
		}
		e.Security = valueOf(securityLabels, securityValues, f.security.Selected)
		e.TrustFingerprint = project.NormalizeFingerprint(strings.Join(strings.Fields(f.trust.Text), ""))
		e.LoginTemplate = strings.TrimSpace(f.template.Text)
		f.oauthEndpoint(&e)
		e = e.WithDefaultPort() // empty port = the security's default
	case project.TypeEWS:
		e.TrustFingerprint = project.NormalizeFingerprint(strings.Join(strings.Fields(f.trust.Text), ""))
		// Only the chosen way to find the server is kept.
		switch f.serverField() {
		case "url":
			e.URL = strings.TrimSpace(f.url.Text)
		case "owa_url":
			e.OWAURL = strings.TrimSpace(f.owaURL.Text)
		case "provider":
			e.Provider = f.provider.Selected
		case "autodiscover_email":
			e.AutodiscoverEmail = strings.TrimSpace(f.autodisc.Text)
		}
		e.Access = valueOf(accessLabels, accessValues, f.access.Selected)
		e.Auth = valueOf(authLabels, authValues, f.auth.Selected)
	case project.TypeGraph:
		e.AdminUser = ""
		e.Tenant = strings.TrimSpace(f.tenant.Text)
		e.ClientID = strings.TrimSpace(f.clientID.Text)
		f.graphEndpoint(&e)
	}
	return e, nil
}

// saveEndpoint stores the endpoint through usecase.SaveEndpoint; a
// validation failure is shown inline and returned as a validationError.
func (f *endpointForm) saveEndpoint() error {
	f.status.Importance = widget.MediumImportance // not a test verdict's colour
	name := f.t.u.project
	if name == "" {
		return errors.New("no project selected")
	}
	e, err := f.endpoint()
	if f.fields.setError(err) > 0 {
		f.status.SetText("Not saved: fix the fields marked in red.")
		return validationError{err}
	}
	c := usecase.EndpointChange{Project: name, Side: f.side, Endpoint: e}
	if pw := f.password.Text; pw != "" && (e.Type == project.TypeIMAP || e.Type == project.TypeEWS) {
		c.Password = []byte(pw)
	}
	if c.Secret, err = f.typedSecret(e.Type); err != nil {
		f.fields.setError(err)
		f.status.SetText("Not saved: fix the fields marked in red.")
		return validationError{err}
	}
	saved, err := usecase.SaveEndpoint(f.t.u.st, c)
	clear(c.Password)
	clear(c.Secret)
	var fe *project.FieldError
	if errors.As(err, &fe) {
		f.fields.setError(err)
		f.status.SetText("Not saved: fix the fields marked in red.")
		return validationError{err}
	}
	if err != nil {
		f.status.SetText("Not saved.")
		return err
	}
	f.load(saved)
	f.status.SetText("Saved.")
	f.t.u.updateStatus()
	return nil
}

// typedGraphCredential is the Graph credential typed or chosen in the
// form: the certificate file in certificate mode, else the client secret
// (nil when none was given).
func (f *endpointForm) typedGraphCredential() ([]byte, error) {
	if f.certMode() {
		return f.typedCertificate()
	}
	if f.secret.Text != "" {
		return []byte(f.secret.Text), nil
	}
	return nil, nil
}

// trustCert stores the fingerprint offered by the last test.
func (f *endpointForm) trustCert() {
	if f.certFP == "" {
		return
	}
	f.trust.SetText(f.certFP)
	if err := f.saveEndpoint(); err != nil {
		if !isValidation(err) {
			f.t.u.showError(err)
		}
		return
	}
	f.status.SetText("Certificate " + shortFP(f.certFP) + " is trusted for this endpoint. Test again to check.")
}

// fingerprintEntry is the "Trust fingerprint" field: a SHA-256 in hex is
// 64 characters, wider than half the window, so the field wraps it over two
// lines instead of cutting it at the border. Line breaks and spaces typed
// or pasted into it are dropped when the endpoint is saved.
func fingerprintEntry() *widget.Entry {
	e := widget.NewMultiLineEntry()
	e.PlaceHolder = "SHA-256 of a self-signed certificate (optional)"
	e.Wrapping = fyne.TextWrapBreak
	e.SetMinRowsVisible(2)
	return e
}

func shortFP(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

func (t *endpointsTab) setProject(name string) {
	var p project.Project
	if name != "" {
		var err error
		p, err = t.u.st.Project(name)
		if err != nil {
			t.u.showError(err)
		}
	}
	t.source.load(p.Source)
	t.dest.load(p.Dest)
	t.source.save.Enable()
	t.dest.save.Enable()
	if name == "" {
		t.source.save.Disable()
		t.dest.save.Disable()
	}
}

// serverByLabels are the choices of "Find server by".
func serverByLabels() []string {
	out := make([]string, len(project.EWSServerFields))
	for i, f := range project.EWSServerFields {
		out[i] = strings.ToUpper(f.Label[:1]) + f.Label[1:]
	}
	return out
}

// serverByLabel is the choice of a field.
func serverByLabel(field string) string {
	for i, f := range project.EWSServerFields {
		if f.Field == field {
			return serverByLabels()[i]
		}
	}
	return serverByLabels()[0]
}

// serverField is the field the form's "Find server by" choice names.
func (f *endpointForm) serverField() string {
	for i, l := range serverByLabels() {
		if l == f.serverBy.Selected {
			return project.EWSServerFields[i].Field
		}
	}
	return project.EWSServerFields[0].Field
}

// serverFieldOf is how a stored endpoint finds its server: the provider
// when one was picked (the form filled the URL from it), else the first
// given field, else the EWS URL.
func serverFieldOf(e project.Endpoint) string {
	if e.Provider != "" {
		return "provider"
	}
	if given := e.EWSServerGiven(); len(given) > 0 {
		return given[0]
	}
	return "url"
}
