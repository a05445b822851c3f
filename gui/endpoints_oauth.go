package gui

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// oauthWidgets are the source form's fields of the OAuth types: the
// Google Workspace service-account key, a Gmail access token, and the
// Microsoft 365 sign-in authority (tenant, client ID and credential are
// the Graph form's widgets).
type oauthWidgets struct {
	saPath    *widget.Entry
	saInfo    *widget.Label
	token     *widget.Entry
	authority *widget.Entry
	// cloud is the Microsoft 365 source's cloud (the Graph destination's
	// table): it moves the token scope, the authority and the default host.
	cloud     *widget.Select
	trashSpam *widget.Check
	dailyMB   *widget.Entry
	// Sign in with Google (Gmail account): the admin's Desktop-app OAuth
	// client, the account, and the button.
	gClientID, gSecret, gAccount *widget.Entry
	signIn                       *widget.Button
	// openURL opens the sign-in page (the system browser; tests replace it).
	openURL func(string) error
	// signInDone is called after a sign-in ended (tests hook it).
	signInDone func()
	// authURL and tokenURL replace Google's endpoints (tests).
	authURL, tokenURL string
}

// addOAuthRows adds the source form's rows of the OAuth types.
func (f *endpointForm) addOAuthRows() {
	f.oa.saPath = widget.NewEntry()
	f.oa.saPath.PlaceHolder = "service-account JSON key (domain-wide delegation)"
	f.oa.saInfo = widget.NewLabel("")
	f.oa.saInfo.Wrapping = fyne.TextWrapWord
	f.oa.token = widget.NewPasswordEntry()
	f.oa.token.PlaceHolder = "optional: an OAuth access token (else each user's app password)"
	f.oa.authority = widget.NewEntry()
	f.oa.authority.PlaceHolder = project.DefaultAuthority
	choose := widget.NewButton("Choose…", f.chooseServiceAccount)
	f.fields.add("service_account_file", "Service-account key", container.NewVBox(
		container.NewBorder(nil, nil, nil, choose, f.oa.saPath), f.oa.saInfo))
	f.fields.add("token", "Access token", f.oa.token)
	f.oa.gClientID = widget.NewEntry()
	f.oa.gClientID.PlaceHolder = "OAuth client ID (Desktop app) from Google Cloud console"
	f.oa.gSecret = widget.NewPasswordEntry()
	f.oa.gSecret.PlaceHolder = "its client secret"
	f.oa.gAccount = widget.NewEntry()
	f.oa.gAccount.PlaceHolder = "someone@gmail.com (optional)"
	f.oa.signIn = widget.NewButton("Sign in with Google…", f.signInWithGoogle)
	f.oa.openURL = func(s string) error {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		return f.t.u.app.OpenURL(u)
	}
	f.fields.add("google_client_id", "OAuth client ID", f.oa.gClientID)
	f.fields.add("google_client_secret", "OAuth client secret", f.oa.gSecret)
	f.fields.add("google_account", "Gmail address", container.NewBorder(nil, nil, nil, f.oa.signIn, f.oa.gAccount))
	f.oa.trashSpam = widget.NewCheck("Also migrate Gmail's Trash and Spam", nil)
	f.fields.add("include_trash_spam", "Trash and Spam", f.oa.trashSpam)
	f.oa.dailyMB = widget.NewEntry()
	f.oa.dailyMB.PlaceHolder = strconv.Itoa(project.DefaultGmailDailyMB) + " (MB per mailbox and pass; Google allows about 2,500 a day)"
	f.fields.add("daily_limit_mb", "Daily download (MB)", f.oa.dailyMB)
	f.fields.add("tenant", "Tenant", f.tenant)
	f.fields.add("client_id", "Client ID", f.clientID)
	f.fields.add("credential", "Credential", f.credKind)
	f.fields.add("secret", "Client secret", f.secret)
	chooseCert := widget.NewButton("Choose…", f.chooseCertificate)
	f.fields.add("certificate", "Certificate", container.NewVBox(container.NewBorder(nil, nil, nil, chooseCert, f.certPath), f.certInfo))
	f.oa.cloud = widget.NewSelect(cloudLabels(), f.m365CloudChosen)
	f.oa.cloud.SetSelected(cloudLabel(""))
	f.fields.add("cloud", "Microsoft cloud", f.oa.cloud)
	f.fields.add("authority", "Sign-in authority", f.oa.authority)
}

// m365CloudChosen moves the Microsoft 365 server to the cloud's when the
// host is empty or still a cloud's default (a typed host stays), and shows
// the cloud's authority as the authority's placeholder.
func (f *endpointForm) m365CloudChosen(label string) {
	c, err := graph.LookupCloud(cloudName(label))
	if err != nil {
		return
	}
	f.oa.authority.SetPlaceHolder(c.Authority)
	if f.loading || f.kind() != project.TypeM365IMAP {
		return
	}
	if h := strings.TrimSpace(f.host.Text); h == "" || graph.IsExchangeHost(h) {
		f.host.SetText(c.ExchangeHost)
	}
}

// showSourceType shows the source rows of type k.
func (f *endpointForm) showSourceType(k project.EndpointType) {
	m365 := k == project.TypeM365IMAP
	f.fields.show(true, "host", "port", "security", "trust_fingerprint")
	f.fields.show(k == project.TypeIMAP, "login_template", "admin_user", "password")
	f.fields.show(k == project.TypeGWorkspace, "service_account_file")
	f.fields.show(k == project.TypeGmail, "token", "google_client_id", "google_client_secret", "google_account")
	f.fields.show(k == project.TypeGWorkspace || k == project.TypeGmail, "include_trash_spam", "daily_limit_mb")
	f.fields.show(m365, "tenant", "client_id", "credential", "cloud", "authority")
	f.fields.show(m365 && !f.certMode(), "secret")
	f.fields.show(m365 && f.certMode(), "certificate")
}

// sourceTypeChosen fills the provider's IMAP server when the host is
// empty or still another provider's.
func (f *endpointForm) sourceTypeChosen(string) {
	k := f.kind()
	if def := k.DefaultHost(); def != "" {
		if k == project.TypeM365IMAP {
			if c, err := graph.LookupCloud(cloudName(f.oa.cloud.Selected)); err == nil {
				def = c.ExchangeHost
			}
		}
		h := strings.TrimSpace(f.host.Text)
		if h == "" || h == project.GmailIMAPHost || graph.IsExchangeHost(h) {
			f.host.SetText(def)
			f.security.SetSelected(labelOf(securityLabels, securityValues, project.SecuritySSL))
			f.port.SetText(strconv.Itoa(993))
		}
	}
	f.showType()
}

// loadOAuth fills the OAuth rows from the stored endpoint.
func (f *endpointForm) loadOAuth(e project.Endpoint) {
	f.oa.saPath.SetText("")
	f.oa.saInfo.SetText("")
	if e.Type == project.TypeGWorkspace && e.ServiceAccount != "" {
		f.oa.saInfo.SetText("Stored: service account " + e.ServiceAccount + ". Choose a file to replace it.")
	}
	f.oa.token.SetText("")
	f.oa.token.SetPlaceHolder("optional: an OAuth access token (else each user's app password)")
	if e.Type == project.TypeGmail && e.SecretRef != "" {
		f.oa.token.SetPlaceHolder("(stored token or Google sign-in: type to replace)")
	}
	f.oa.gSecret.SetText("")
	f.oa.authority.SetText(e.Authority)
	f.oa.cloud.SetSelected(cloudLabel(e.Cloud))
	f.oa.trashSpam.SetChecked(e.IncludeTrashSpam)
	f.oa.dailyMB.SetText("")
	if e.DailyLimitMB > 0 {
		f.oa.dailyMB.SetText(strconv.Itoa(e.DailyLimitMB))
	}
}

// oauthEndpoint completes an IMAP-family endpoint from the OAuth rows.
func (f *endpointForm) oauthEndpoint(e *project.Endpoint) {
	if f.side != project.SideSource {
		return
	}
	if e.Type != project.TypeIMAP {
		e.AdminUser, e.LoginTemplate = "", ""
	}
	if e.Type == project.TypeGWorkspace || e.Type == project.TypeGmail {
		e.IncludeTrashSpam = f.oa.trashSpam.Checked
		if t := strings.TrimSpace(f.oa.dailyMB.Text); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil {
				n = -1 // refused by Validate at its row
			}
			e.DailyLimitMB = n
		}
	}
	switch e.Type {
	case project.TypeGWorkspace:
		if f.saved.Type == project.TypeGWorkspace {
			e.ServiceAccount = f.saved.ServiceAccount
		}
	case project.TypeM365IMAP:
		e.Tenant = strings.TrimSpace(f.tenant.Text)
		e.ClientID = strings.TrimSpace(f.clientID.Text)
		e.Authority = strings.TrimSpace(f.oa.authority.Text)
		e.Cloud = cloudName(f.oa.cloud.Selected)
	}
}

// typedSecret is the credential typed or chosen in the form for type k
// (nil when none): the Graph or Microsoft 365 client secret or
// certificate, the Google Workspace key file, or a Gmail access token.
// A bad file comes back as a *project.FieldError on its row.
func (f *endpointForm) typedSecret(k project.EndpointType) ([]byte, error) {
	switch k {
	case project.TypeGraph, project.TypeM365IMAP:
		b, err := f.typedGraphCredential()
		if err != nil {
			return nil, &project.FieldError{Field: "certificate", Reason: err.Error()}
		}
		return b, nil
	case project.TypeGWorkspace:
		path := strings.TrimSpace(f.oa.saPath.Text)
		if path == "" {
			return nil, nil
		}
		b, _, err := usecase.ReadServiceAccount(path)
		if err != nil {
			return nil, &project.FieldError{Field: "service_account_file", Reason: err.Error()}
		}
		return b, nil
	case project.TypeGmail:
		if f.oa.token != nil && f.oa.token.Text != "" {
			return []byte(strings.TrimSpace(f.oa.token.Text)), nil
		}
	}
	return nil, nil
}

// chooseServiceAccount picks the service-account JSON key file.
func (f *endpointForm) chooseServiceAccount() {
	f.chooseFile([]string{".json", ".JSON"}, f.setServiceAccountFile)
}

// setServiceAccountFile selects a key file and says at once what it is,
// with the client ID the admin enters in Domain-wide delegation.
func (f *endpointForm) setServiceAccountFile(path string) {
	f.oa.saPath.SetText(path)
	b, sa, err := usecase.ReadServiceAccount(path)
	if err != nil {
		f.oa.saInfo.SetText(err.Error())
		return
	}
	clear(b)
	f.oa.saInfo.SetText("Service account " + sa.ClientEmail + ". In the Google Admin console > Security > API controls > Domain-wide delegation, add client ID " + sa.ClientID + " with the scope " + project.GmailScope)
}

// signInWithGoogle runs "Sign in with Google" for the Gmail account
// (usecase.SignInWithGoogle) in a goroutine: the system browser shows
// Google's page, the loopback redirect brings the code back, and the
// sign-in is sealed as the endpoint's credential.
func (f *endpointForm) signInWithGoogle() {
	name := f.t.u.project
	if name == "" {
		f.status.SetText("Select a project first.")
		return
	}
	ep, err := f.endpoint()
	if f.fields.setError(err) > 0 {
		f.status.SetText("Fix the fields marked in red first.")
		return
	}
	req := usecase.GoogleSignIn{Project: name, Side: f.side, Endpoint: &ep, Account: strings.TrimSpace(f.oa.gAccount.Text),
		App: oauth.InstalledApp{ClientID: strings.TrimSpace(f.oa.gClientID.Text), ClientSecret: f.oa.gSecret.Text,
			AuthURL: f.oa.authURL, TokenURL: f.oa.tokenURL},
		Open: f.oa.openURL}
	f.oa.signIn.Disable()
	f.status.SetText("Waiting for the sign-in in your browser…")
	ctx, cancel := context.WithTimeout(f.t.u.ctx, 5*time.Minute)
	go func() {
		defer cancel()
		saved, err := usecase.SignInWithGoogle(ctx, f.t.u.st, req)
		f.t.u.do(func() {
			f.oa.signIn.Enable()
			if err != nil {
				f.fields.setError(err)
				f.status.SetText("Not signed in: " + err.Error())
			} else {
				f.load(saved)
				f.status.SetText("Signed in with Google; the sign-in is stored sealed. Test the connection with a user.")
				f.t.u.updateStatus()
			}
			if f.oa.signInDone != nil {
				f.oa.signInDone()
			}
		})
	}()
}

// chooseFile opens a file dialog for files ending in one of exts and
// calls then with the chosen file's path; an error opening it is shown.
func (f *endpointForm) chooseFile(exts []string, then func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			if err != nil {
				f.t.u.showError(err)
			}
			return
		}
		path := r.URI().Path()
		r.Close()
		then(path)
	}, f.t.u.win)
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
}
