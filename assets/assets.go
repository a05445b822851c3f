// Package assets embeds MailFerry's static files: the application icon and
// the editable catalog of Hosted Exchange providers.
package assets

import _ "embed"

// Icon is the 256×256 PNG application icon (drawn by gui's TestIcon).
//
//go:embed icon.png
var Icon []byte

// Providers is the Hosted Exchange provider catalog (JSON, see
// core/dest/ews.ParseProviders). Edit providers.json to add providers.
//
//go:embed providers.json
var Providers []byte
