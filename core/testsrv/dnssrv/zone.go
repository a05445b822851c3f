package dnssrv

// CutoverZone is the DNS fixture of the cutover tests (core/cutover, the
// CLI and the GUI): a destination hoster, an old host and customer domains
// in each state — ready.example cut over, notyet.example still at the old
// host, partial.example half moved, own.example on its own names,
// exo.example at Exchange Online, imapcust.example an IMAP destination on
// the customer's domain.
var CutoverZone = []string{
	// The destination hoster.
	"exch.hoster.example. 300 IN A 192.0.2.10",
	"autodiscover.hoster.example. 300 IN A 192.0.2.11",
	"mx1.hoster.example. 300 IN A 192.0.2.20",
	// The old host.
	"mx.oldhost.example. 300 IN A 198.51.100.5",
	"autodiscover.oldhost.example. 300 IN A 198.51.100.6",

	// ready.example: cut over (MX and Autodiscover CNAME at the hoster).
	"ready.example. 300 IN MX 10 mx1.hoster.example.",
	"autodiscover.ready.example. 300 IN CNAME autodiscover.hoster.example.",

	// notyet.example: still at the old host.
	"notyet.example. 300 IN MX 10 mx.oldhost.example.",
	"autodiscover.notyet.example. 300 IN CNAME autodiscover.oldhost.example.",
	"_autodiscover._tcp.notyet.example. 300 IN SRV 0 0 443 autodiscover.oldhost.example.",

	// partial.example: one MX moved, one not; Autodiscover by SRV only.
	"partial.example. 300 IN MX 10 mx1.hoster.example.",
	"partial.example. 300 IN MX 20 mx.oldhost.example.",
	"_autodiscover._tcp.partial.example. 300 IN SRV 0 0 443 autodiscover.hoster.example.",

	// own.example: its own names, with the destination's address.
	"own.example. 300 IN MX 5 mail.own.example.",
	"mail.own.example. 300 IN A 192.0.2.10",
	"autodiscover.own.example. 300 IN A 192.0.2.10",

	// exo.example: Exchange Online.
	"exo.example. 300 IN MX 0 exo-example.mail.protection.outlook.com.",
	"exo-example.mail.protection.outlook.com. 300 IN A 203.0.113.7",
	"autodiscover.exo.example. 300 IN CNAME autodiscover.outlook.com.",
	"autodiscover.outlook.com. 300 IN A 203.0.113.8",

	// imapcust.example: an IMAP destination on the customer's own domain,
	// old MX on the same domain.
	"imapcust.example. 300 IN MX 10 mx.imapcust.example.",
	"mx.imapcust.example. 300 IN A 198.51.100.77",
	"imap.imapcust.example. 300 IN A 192.0.2.99",
	"newmx.example. 300 IN MX 10 imap.imapcust.example.",
}
