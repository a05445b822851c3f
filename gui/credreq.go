package gui

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// defaultCredAddr serves the LAN: users open the links from their own
// machines.
const defaultCredAddr = "0.0.0.0:8443"

// credServer is the window's credential-request server: started once,
// closed with the window.
type credServer struct {
	srv *credreq.Server
	// onReady is called (UI goroutine) after a user's password was
	// confirmed and the views were refreshed; tests hook it.
	onReady func(projectName, userID string)
}

// credForm is the Request Passwords dialog.
type credForm struct {
	m   *mailState
	ids []string // users to email; nil = every user without a password

	addr, hosts *widget.Entry
	startBtn    *widget.Button
	stopBtn     *widget.Button
	stopAsk     *dialog.ConfirmDialog // the last Stop confirmation (tests answer it)
	url, fp     *widget.Label
	reach       *reachView
	links       *linkStatusView
	tmpl        *templateEditor
	sendPanel
}

// needsPassword reports whether usr was imported without a source
// password (the users a credential request is for).
func needsPassword(usr project.User) bool {
	return usr.AddressesOnly || usr.SourcePasswordRef == ""
}

// credreqDialog opens Request Passwords for the selected users that have
// no password (ids empty: every such user).
func (m *mailState) credreqDialog(ids []string) *credForm {
	u := m.u
	if u.noProject("Request passwords") {
		return nil
	}
	var want []string
	n := 0
	if len(ids) > 0 {
		sel, failedLogin := map[string]bool{}, map[string]bool{}
		for _, id := range ids {
			sel[id] = true
		}
		// Users whose own password the source refused: a new one helps.
		for _, id := range u.migrations.failedLogins() {
			failedLogin[id] = true
		}
		for _, usr := range u.migrations.users {
			if sel[usr.ID()] && (needsPassword(usr) || failedLogin[usr.ID()]) {
				want = append(want, usr.ID())
			}
		}
		n = len(want)
		if n == 0 {
			dialog.ShowInformation("Request passwords",
				"None of the selected users was imported without a password or failed on a wrong password.", u.win)
			return nil
		}
	} else {
		for _, usr := range u.migrations.users {
			if needsPassword(usr) {
				n++
			}
		}
		if n == 0 {
			dialog.ShowInformation("Request passwords", "Every user of the project has a password.", u.win)
			return nil
		}
	}

	f := &credForm{m: m, ids: want}
	f.newWidgets()
	f.showServer()

	to := fmt.Sprintf("%d selected users without a password get a one-time link at their source address.", n)
	if wrong := countIn(want, u.migrations.failedLogins()); wrong > 0 {
		to = fmt.Sprintf("%d selected users without a working password (%d refused by the source) get a one-time link at their source address; the password they confirm replaces the refused one.", n, wrong)
	}
	if len(ids) == 0 {
		to = fmt.Sprintf("All %d users without a password (none selected) get a one-time link at their source address.", n)
	}
	server := widget.NewForm(
		widget.NewFormItem("Listen on", container.NewBorder(nil, nil, nil, container.NewHBox(f.startBtn, f.stopBtn), f.addr)),
		widget.NewFormItem("Host names", f.hosts),
		widget.NewFormItem("Link base", f.url),
		widget.NewFormItem("Certificate SHA-256", f.fp),
	)
	top := container.NewVBox(widget.NewLabelWithStyle(to, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), server, f.reach.box, widget.NewSeparator())
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })
	bottom := container.NewVBox(f.smtpNote, f.status, resultsBox(f.results), container.NewHBox(f.sendBtn, f.activity, closeBtn))
	tabs := container.NewAppTabs(
		container.NewTabItem("Message", f.tmpl.content),
		container.NewTabItem("Link status", f.links.content),
		container.NewTabItem("Firewall & certificate", container.NewVScroll(f.reach.guide)),
	)
	body := container.NewBorder(top, bottom, nil, nil, tabs)
	f.d = dialog.NewCustomWithoutButtons("Request passwords — "+u.project, body, u.win)
	f.d.Resize(fyne.NewSize(960, 680))
	f.d.SetOnClosed(f.links.autoRefresh(linkRefreshEvery))
	f.d.Show()
	m.lastCred = f
	return f
}

// newWidgets makes the dialog's widgets.
func (f *credForm) newWidgets() {
	m, u := f.m, f.m.u
	f.addr = widget.NewEntry()
	f.addr.SetText(defaultCredAddr)
	f.hosts = widget.NewEntry()
	f.hosts.SetPlaceHolder("names or addresses users reach this computer by, comma-separated (default: this computer's name)")
	f.startBtn = widget.NewButtonWithIcon("Start server", theme.MediaPlayIcon(), func() { f.startServer() })
	f.stopBtn = widget.NewButtonWithIcon("Stop server", theme.MediaStopIcon(), func() { f.askStop() })
	f.url = widget.NewLabel("")
	f.url.Selectable = true
	f.fp = widget.NewLabel("")
	f.fp.Selectable = true
	f.reach = newReachView()
	f.links = newLinkStatusView(u)
	f.tmpl = newTemplateEditor(u.loadTemplate("credreq", credreq.DefaultLinkTemplate()), credreq.LinkPlaceholders)
	f.initPanel("Send links", f.send)
	f.ready = func() bool { return f.m.cred != nil && f.tmpl.template().Check(f.tmpl.allowed) == nil }
	f.gateSMTP(m, u.project)
	f.tmpl.onValid = func(bool) { f.updateButtons() }
	f.tmpl.check()
}

// showServer shows the running server's URL and fingerprint, if any.
func (f *credForm) showServer() {
	c := f.m.cred
	f.links.refresh()
	if c == nil {
		f.url.SetText("(server not started)")
		f.fp.SetText("—")
		f.status.SetText("Start the server, then send the links. It runs until you stop it or MailFerry closes.")
		f.addr.Enable()
		f.hosts.Enable()
		f.startBtn.Enable()
		f.startBtn.SetText("Start server")
		f.stopBtn.Disable()
		f.reach.clear()
	} else {
		f.url.SetText(c.srv.URL())
		// Two lines of 16 bytes, as browsers show it.
		fp := tlstrust.Colons(c.srv.Fingerprint())
		if len(fp) > 48 {
			fp = fp[:47] + "\n" + fp[48:]
		}
		f.fp.SetText(fp)
		f.addr.SetText(c.srv.Addr())
		f.addr.Disable()
		f.hosts.Disable()
		f.startBtn.Disable()
		f.startBtn.SetText("Running")
		f.stopBtn.Enable()
		f.reach.check(f.m.u, c.srv)
	}
	f.updateButtons()
}

func (f *credForm) updateButtons() { f.refreshSend() }

// startServer starts the window's credential-request server with the
// dialog's address and host names.
func (f *credForm) startServer() {
	m := f.m
	if m.cred != nil {
		f.showServer()
		return
	}
	var hosts []string
	for _, h := range strings.Split(f.hosts.Text, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if err := m.startCred(strings.TrimSpace(f.addr.Text), hosts); err != nil {
		f.status.SetText(err.Error())
		return
	}
	f.status.SetText("Server running until you stop it or MailFerry closes.")
	f.showServer()
}

// credAddr is the address the window's server listens on.
func (m *mailState) credAddr() string {
	if m.u.opts.CredAddr != "" {
		return m.u.opts.CredAddr
	}
	return defaultCredAddr
}

// startCred starts the window's credential-request server (once; it runs
// until the window closes). When the default port is taken, it listens on
// a free port of the same address instead.
func (m *mailState) startCred(addr string, hosts []string) error {
	u := m.u
	if m.cred != nil {
		return nil
	}
	p, err := u.st.Project(u.project)
	if err != nil {
		return err
	}
	if !p.Source.TakesUserPasswords() {
		return errors.New("The project needs an IMAP source (Endpoints tab): passwords are checked by logging in to it.")
	}
	cfg := credreq.Config{
		Addr:     addr,
		Hosts:    hosts,
		Cert:     m.credCert[strings.Join(hosts, ",")], // a restart keeps the fingerprint users were told
		Verifier: credreq.IMAPVerifier(nil),
		OnReady: func(projectName, userID string) {
			u.do(func() { m.userReady(projectName, userID) })
		},
	}
	srv, err := credreq.Start(u.st, cfg)
	if err != nil && addr == defaultCredAddr && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		cfg.Addr = net.JoinHostPort(host, "0")
		srv, err = credreq.Start(u.st, cfg)
	}
	if err != nil {
		return fmt.Errorf("Starting the credential-request server: %w", err)
	}
	m.cred = &credServer{srv: srv}
	cert := srv.Certificate()
	if m.credCert == nil {
		m.credCert = map[string]*tls.Certificate{}
	}
	m.credCert[strings.Join(hosts, ",")] = &cert
	u.closers = append(u.closers, func() { m.stopCred(srv) })
	return nil
}

// stopCred stops srv if it is still the window's credential-request
// server.
func (m *mailState) stopCred(srv *credreq.Server) {
	if m.cred == nil || m.cred.srv != srv {
		return
	}
	m.cred = nil
	if err := srv.Close(); err != nil {
		slog.Warn("stopping the credential-request server", "err", err)
	}
}

// askStop stops the server, asking first when links still wait for
// users: they stop working until a server runs at the same address.
func (f *credForm) askStop() {
	c := f.m.cred
	if c == nil {
		return
	}
	open := f.links.openAt(c.srv.URL())
	stop := func() {
		f.m.stopCred(c.srv)
		f.showServer()
		f.status.SetText("Server stopped. Links already sent work again when the server runs at " + c.srv.URL() + " again.")
	}
	if open == 0 {
		stop()
		return
	}
	d := dialog.NewConfirm("Stop the server?",
		fmt.Sprintf("%d link(s) have not been used yet. While the server is stopped, those users see an error page; "+
			"their links work again once the server runs at %s again.", open, c.srv.URL()),
		func(ok bool) {
			if ok {
				stop()
			}
		}, f.m.u.win)
	d.SetConfirmText("Stop server")
	d.SetDismissText("Keep running")
	d.Show()
	f.stopAsk = d
}

// autoCred starts the credential-request server with the window when the
// project has users only they can give a password for, so that their
// links work while the window is open.
func (m *mailState) autoCred(name string) {
	if m.cred != nil || name == "" {
		return
	}
	need, err := credreq.WhoNeedsPassword(m.u.st, name, nil)
	if err != nil || len(need) == 0 {
		return
	}
	if err := m.startCred(m.credAddr(), nil); err != nil {
		slog.Warn("starting the credential-request server with the window", "err", err)
		m.u.setStatus(err.Error())
	}
}

// send issues and emails the links in a goroutine.
func (f *credForm) send() {
	u := f.m.u
	c := f.m.cred
	if c == nil {
		f.status.SetText("Start the server first.")
		return
	}
	tmpl, ok := f.checkedTemplate(u, f.tmpl, "credreq")
	if !ok {
		return
	}
	f.begin("Sending links…")
	proj, ids, opts := u.project, f.ids, f.m.options()
	go func() {
		res, err := c.srv.SendLinks(u.ctx, proj, ids, tmpl, opts)
		u.do(func() {
			f.stopActivity()
			f.updateButtons()
			f.links.refresh()
			u.usersChanged()
			f.report(withErr(fmt.Sprintf("Links sent %d, failed %d. Users wait in “Waiting For End User” until they confirm their password.",
				len(res.Sent), len(res.Failed)), err), res, err)
		})
	}()
}

// userReady shows a user whose password was just confirmed as Queued.
func (m *mailState) userReady(projectName, userID string) {
	u := m.u
	if projectName == u.project {
		u.usersChanged()
		// The stored status (Queued) replaces an older live one such as
		// Waiting For End User from an earlier pass.
		if lp := u.migrations.live[userID]; lp != nil && lp.Status == project.StatusWaitingForEndUser {
			lp.Status = ""
			u.migrations.table.Refresh()
			u.migrations.updateSummary()
		}
		u.setStatus(fmt.Sprintf("%s confirmed their password.", userID))
	}
	if m.cred != nil && m.cred.onReady != nil {
		m.cred.onReady(projectName, userID)
	}
}

// countIn counts the ids that are in of.
func countIn(ids, of []string) int {
	in := map[string]bool{}
	for _, id := range of {
		in[id] = true
	}
	n := 0
	for _, id := range ids {
		if in[id] {
			n++
		}
	}
	return n
}
