package credreq

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"net/http"
)

// pageData fills the page template.
type pageData struct {
	Nonce    string
	Title    string
	Customer string
	Email    string
	Login    string // pre-filled login name
	CSRF     string
	Form     bool   // show the password form
	Error    string // shown above the form (wrong password, ...)
	Message  string // a paragraph (final pages)
	Left     int    // attempts left (with Form)
	ShowLeft bool
	Expires  string
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f5f8;color:#1d2733;margin:0}
main{max-width:26rem;margin:8vh auto;background:#fff;border-radius:10px;padding:2rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 1rem}
label{display:block;margin:1rem 0 .3rem;font-weight:600}
input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #a9b4c2;border-radius:6px}
button{margin-top:1.2rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:6px;background:#1f6feb;color:#fff;cursor:pointer}
.err{background:#fde8e8;color:#8a1c1c;padding:.7rem;border-radius:6px}
.small{color:#5b6777;font-size:.85rem}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}
<p>{{.Customer}} is moving your mailbox <strong>{{.Email}}</strong> to a new server.
To copy your mail, please confirm the login name and password of your current mailbox.</p>
<form method="post" autocomplete="off">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="login">Login name</label>
<input type="text" id="login" name="login" value="{{.Login}}" required autocomplete="username" autocapitalize="none" spellcheck="false">
<p class="small">Usually your email address; some mail servers use a short name such as <em>carol</em> instead.</p>
<label for="pw">Password</label>
<input type="password" id="pw" name="password" required autofocus autocomplete="current-password">
<button type="submit">Confirm</button>
</form>
<p class="small">The password is checked against your current mail server and stored encrypted on the
migration computer only. This link works once and expires on {{.Expires}}.
{{if .ShowLeft}}Attempts left: {{.Left}}.{{end}}</p>
{{end}}
</main>
</body>
</html>
`))

// render writes a page with the security headers and a fresh style nonce.
func render(w http.ResponseWriter, status int, d pageData) {
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	d.Nonce = hex.EncodeToString(nb[:])
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+d.Nonce+"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = page.Execute(w, d)
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}
