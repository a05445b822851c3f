package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/mailferry/mailferry/core/project"
)

// TokenError is a token endpoint's refusal, with the admin's fix.
type TokenError struct {
	Provider    string // "gworkspace" or "m365-imap"
	Status      int    // HTTP status
	Code        string // RFC 6749 error, e.g. unauthorized_client
	Description string // error_description
	AADSTS      string // Microsoft's error number, e.g. AADSTS7000215
	Hint        string // what to do
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("the token endpoint refused (HTTP %d %s", e.Status, e.Code)
	if e.AADSTS != "" {
		msg += " " + e.AADSTS
	}
	msg += ")"
	if d := firstLine(e.Description); d != "" && e.AADSTS == "" {
		msg += fmt.Sprintf(" %q", d)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Is makes a refusal a setup error (project.ErrSetup): something the
// admin fixes in the Google or Microsoft console, never a wrong password.
func (e *TokenError) Is(target error) bool { return target == project.ErrSetup }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}

func retrieveError(err error, provider string) (*TokenError, bool) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return nil, false
	}
	e := &TokenError{Provider: provider, Code: re.ErrorCode, Description: re.ErrorDescription}
	if e.Code == "" {
		// golang.org/x/oauth2/jwt leaves the body unparsed.
		var b struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &b) == nil {
			e.Code, e.Description = b.Error, b.Description
		}
	}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
	}
	return e, true
}

// googleError explains a refusal of Google's token endpoint.
func googleError(err error, sa *ServiceAccount, user string) error {
	e, ok := retrieveError(err, "gworkspace")
	if !ok {
		return fmt.Errorf("asking %s for a token for %s: %w", sa.TokenURI, user, err)
	}
	d := strings.ToLower(e.Description)
	switch {
	case e.Code == "unauthorized_client":
		e.Hint = fmt.Sprintf("domain-wide delegation is missing or lacks the scope: in the Google Admin console > Security > Access and data control > API controls > Manage Domain Wide Delegation, add client ID %s with exactly the scope https://mail.google.com/ (changes can take a few minutes)", sa.ClientID)
	case e.Code == "invalid_grant" && strings.Contains(d, "invalid email or user id"):
		e.Hint = fmt.Sprintf("%s is not a user of the Google Workspace domain (check the address, or whether the user was renamed or deleted)", user)
	case e.Code == "invalid_grant" && strings.Contains(d, "signature"):
		e.Hint = "the key was deleted or replaced in Google Cloud console > IAM & Admin > Service accounts > Keys; create a new JSON key and set it again"
	case e.Code == "invalid_grant" && (strings.Contains(d, "iat") || strings.Contains(d, "timeframe")):
		e.Hint = "the assertion's time was refused; check this computer's clock"
	case e.Code == "invalid_client" || e.Code == "disabled_client":
		e.Hint = "the service account is disabled or deleted; enable it or create a new one and its key"
	case e.Code == "access_denied":
		e.Hint = "the user's account does not allow this access (suspended user, or IMAP access turned off for the user's organisational unit)"
	}
	return fmt.Errorf("token for %s: %w", user, e)
}

// microsoftError explains a refusal of Microsoft Entra ID's token endpoint.
func microsoftError(err error, tokenURL, scope string) error {
	e, ok := retrieveError(err, "m365-imap")
	if !ok {
		return fmt.Errorf("asking %s for a token: %w", tokenURL, err)
	}
	if code, _, ok := strings.Cut(e.Description, ":"); ok && strings.HasPrefix(code, "AADSTS") {
		e.AADSTS = code
	}
	switch e.AADSTS {
	case "AADSTS7000215":
		e.Hint = "the client secret is wrong; paste the secret's Value (not its Secret ID) from Entra ID > App registrations > Certificates & secrets"
	case "AADSTS7000222":
		e.Hint = "the client secret has expired; create a new one in Entra ID > App registrations > Certificates & secrets"
	case "AADSTS700027":
		e.Hint = "the certificate was refused: upload its public part to Entra ID > App registrations > Certificates & secrets > Certificates, or check that the PEM file holds that certificate's private key"
	case "AADSTS700024":
		e.Hint = "the client assertion was outside its valid time range; check this computer's clock"
	case "AADSTS700016":
		e.Hint = "no application with this Application (client) ID in the tenant; check the client id and the tenant id"
	case "AADSTS90002", "AADSTS900023":
		e.Hint = "the tenant was not found; use the Directory (tenant) ID or the tenant's domain name"
	case "AADSTS1002012", "AADSTS500011", "AADSTS70011":
		e.Hint = "the scope was refused; MailFerry asks for " + scope + ": check the Microsoft cloud of the endpoint (global, usgov, usgov-dod or china: --cloud, or Microsoft cloud in the source form) and that Office 365 Exchange Online is available in the tenant"
	case "AADSTS65001", "AADSTS650057":
		e.Hint = "admin consent is missing: in Entra ID > App registrations > API permissions add Office 365 Exchange Online > Application permissions > IMAP.AccessAsApp and press Grant admin consent"
	}
	if e.Hint == "" && e.Code == "invalid_client" {
		e.Hint = "the client credentials were refused; check the client id and the secret or certificate"
	}
	return e
}
