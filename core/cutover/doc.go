// Package cutover answers "have the customer's DNS records been switched to
// the new mail host yet?" For each destination domain it looks up the MX
// hosts, autodiscover.<domain> (CNAME or address) and the
// _autodiscover._tcp SRV record, and says for each whether it points to the
// destination (the EWS/OWA or IMAP host, a host of the same provider
// domain or with the same address, or for Exchange Online
// *.mail.protection.outlook.com and autodiscover.outlook.com), elsewhere,
// is missing, or could not be looked up. Each report also lists the
// records the domain needs for the destination (Want: type, name, value),
// per kind of destination: Exchange Online, hosted Exchange, Google or
// IMAP; those values pass the same check.
//
// Lookups go through the Resolver interface, which *net.Resolver
// satisfies, so tests and the GUI can point it at any DNS server.
package cutover
