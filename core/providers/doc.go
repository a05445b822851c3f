// Package providers is MailFerry's editable catalog of Hosted Exchange
// providers: the catalog embedded in the program (assets/providers.json)
// merged with the user's own catalog file, UserPath(dir) =
// <dir>/providers.json, where dir is MailFerry's configuration directory
// (DefaultDir: <os.UserConfigDir()>/MailFerry).
//
// Both files have the same JSON format (see ews.ParseProviders):
//
//	{"providers": [
//	  {"name": "Example Hosting", "owa_url": "https://mail.example.net/owa", "notes": "…"},
//	  {"name": "Other", "ews_url": "https://ex.other.net/EWS/Exchange.asmx"},
//	  {"name": "Rackspace Hosted Exchange", "hidden": true}
//	]}
//
// Merge rule: names compare case-insensitively (after trimming spaces). A
// user entry whose name matches an embedded entry replaces it in place; a
// user entry with "hidden": true removes the embedded entry of that name
// from the catalog (it needs no URL); other user entries are appended in
// file order. Within one file, the first entry of a name wins and later
// duplicates are reported.
//
// Validation: every entry needs a name and exactly one of ews_url or
// owa_url that ews.Provider.URL accepts. A bad entry is left out and
// reported as an *EntryError naming its file, 1-based index and name; the
// rest of the catalog still loads. A user file that is not valid JSON is
// reported as one error and the embedded catalog is used alone.
package providers
