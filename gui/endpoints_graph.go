package gui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
)

// The Graph form's cloud drop-down, from core/dest/graph.
func cloudLabels() []string {
	out := make([]string, len(graph.Clouds))
	for i, c := range graph.Clouds {
		out[i] = c.Label
	}
	return out
}

func cloudLabel(name string) string {
	c, err := graph.LookupCloud(name)
	if err != nil {
		return name
	}
	return c.Label
}

func cloudName(label string) string {
	for _, c := range graph.Clouds {
		if c.Label == label {
			if c.Name == "global" {
				return ""
			}
			return c.Name
		}
	}
	return ""
}

// graphWidgets are the Graph rows the form adds: the cloud drop-down and
// an "Advanced" expander with the Graph URL and authority overrides.
type graphWidgets struct {
	cloud     *widget.Select
	graphURL  *widget.Entry
	authority *widget.Entry
	advanced  *widget.Button
	advOpen   bool
	// exo is the banner shown when an EWS address is Exchange Online:
	// the retirement explained, and one click to switch to Graph.
	exo       *fyne.Container
	exoText   *widget.Label
	switchBtn *widget.Button
	// help says which app registration and permissions Graph needs.
	help  *widget.Label
	guide *widget.Hyperlink
}

// addGraphHelp adds the row that says which app registration and
// permissions a Graph destination needs (core's graph.AppRequirements),
// with a link to the README's steps.
func (f *endpointForm) addGraphHelp() {
	g := &f.gw
	g.help = widget.NewLabel(graph.AppRequirements)
	g.help.Wrapping = fyne.TextWrapWord
	guide, _ := url.Parse(graph.SetupGuideURL)
	g.guide = widget.NewHyperlink("Step by step: README › Setting up Exchange Online", guide)
	f.fields.add("graph_help", "App", container.NewVBox(g.help, g.guide))
}

// addGraphRows adds the cloud, Advanced and Exchange Online rows.
func (f *endpointForm) addGraphRows() {
	g := &f.gw
	g.cloud = widget.NewSelect(cloudLabels(), nil)
	g.graphURL = widget.NewEntry()
	g.graphURL.PlaceHolder = "https://graph.microsoft.com (the cloud's)"
	g.authority = widget.NewEntry()
	g.authority.PlaceHolder = "https://login.microsoftonline.com (the cloud's)"
	g.advanced = widget.NewButtonWithIcon("Advanced", theme.MenuExpandIcon(), func() { f.setAdvanced(!g.advOpen) })
	g.advanced.Alignment = widget.ButtonAlignLeading
	g.exoText = widget.NewLabel("")
	g.exoText.Wrapping = fyne.TextWrapWord
	g.exoText.Importance = widget.WarningImportance
	g.switchBtn = widget.NewButtonWithIcon("Switch to Microsoft Graph", theme.MailForwardIcon(), func() { f.switchToGraph("") })
	g.switchBtn.Importance = widget.HighImportance
	g.exo = container.NewVBox(g.exoText, container.NewHBox(g.switchBtn))
	f.fields.add("cloud", "Cloud", g.cloud)
	f.fields.add("advanced", "", g.advanced)
	f.fields.add("graph_url", "Graph URL", g.graphURL)
	f.fields.add("authority", "Sign-in authority", g.authority)
	f.fields.add("exchange_online", "", g.exo)
	f.url.OnChanged = func(string) { f.checkExchangeOnline(false) }
	f.owaURL.OnChanged = func(string) { f.checkExchangeOnline(false) }
}

// setAdvanced opens or closes the Advanced expander.
func (f *endpointForm) setAdvanced(open bool) {
	f.gw.advOpen = open
	if open {
		f.gw.advanced.SetIcon(theme.MenuDropDownIcon())
	} else {
		f.gw.advanced.SetIcon(theme.MenuExpandIcon())
	}
	f.showType()
}

// showGraphRows is showType's part for the Graph and EWS rows.
func (f *endpointForm) showGraphRows(k project.EndpointType) {
	graphK := k == project.TypeGraph
	f.fields.show(graphK, "graph_help", "cloud", "advanced")
	f.fields.show(graphK && f.gw.advOpen, "graph_url", "authority")
	f.checkExchangeOnline(false)
}

// checkExchangeOnline shows the banner when the form is an EWS endpoint on
// Exchange Online (or a test found Autodiscover landing there).
func (f *endpointForm) checkExchangeOnline(fromTest bool) {
	show := f.kind() == project.TypeEWS && (fromTest || ews.IsExchangeOnline(f.url.Text) || ews.IsExchangeOnline(f.owaURL.Text))
	if show {
		f.gw.exoText.SetText("This is Microsoft 365 (Exchange Online). " + ews.RetirementNotice)
	}
	f.fields.show(show, "exchange_online")
}

// switchToGraph turns the destination into a Graph endpoint in cloud
// ("" = global), keeping nothing of the EWS settings.
func (f *endpointForm) switchToGraph(cloud string) {
	f.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeGraph))
	f.gw.cloud.SetSelected(cloudLabel(cloud))
	f.url.SetText("")
	f.owaURL.SetText("")
	f.provider.ClearSelected()
	f.showType()
	f.status.SetText("Destination switched to Exchange Online (Graph): enter the tenant, the app's client id and its secret or certificate, then Save.")
}

// loadGraph fills the Graph rows from the stored endpoint.
func (f *endpointForm) loadGraph(e project.Endpoint) {
	f.gw.cloud.SetSelected(cloudLabel(e.Cloud))
	f.gw.graphURL.SetText(e.GraphURL)
	f.gw.authority.SetText(e.Authority)
	f.setAdvanced(e.GraphURL != "" || e.Authority != "")
}

// graphEndpoint adds the Graph rows to e.
func (f *endpointForm) graphEndpoint(e *project.Endpoint) {
	e.Cloud = cloudName(f.gw.cloud.Selected)
	e.GraphURL = strings.TrimSpace(f.gw.graphURL.Text)
	e.Authority = strings.TrimSpace(f.gw.authority.Text)
	e.TrustFingerprint = project.NormalizeFingerprint(f.trust.Text)
}
