package ews

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mailferry/mailferry/core/project"
)

// RetirementNotice explains why MailFerry does not write to Exchange
// Online over EWS: from 1 October 2026 Exchange Online blocks EWS unless
// the tenant set EWSEnabled=True with an app allow list, and on 1 April
// 2027 EWS is turned off for good; on-premises Exchange is not affected.
// Sources (secondary, summarising Microsoft's announcements):
// https://afi.ai/blog/microsoft-365-retiring-ews-exchange-online-timeline-discovery-parity-gaps-afi-graph
// and https://windowsforum.com/threads/exchange-online-ews-retirement-plan-oct-2026-disablement-to-apr-2027-shutdown.434905/
const RetirementNotice = "Microsoft 365 (Exchange Online) is retiring EWS: since 1 October 2026 it blocks apps " +
	"that are not on the tenant's EWS allow list, and on 1 April 2027 it turns EWS off. MailFerry writes to " +
	"Microsoft 365 through Microsoft Graph instead (an app registration with Mail.ReadWrite, and " +
	"Mail-Advanced.ReadWrite.All for MIME import). Hosted and on-premises Exchange servers stay on EWS."

// IsExchangeOnline says whether an EWS, OWA or Autodiscover-resolved URL
// points at Exchange Online rather than a hosted or on-premises server
// (project.IsExchangeOnlineHost).
func IsExchangeOnline(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return false
	}
	return project.IsExchangeOnlineHost(u.Hostname())
}

// ExchangeOnlineError is the error for an EWS endpoint on Exchange Online.
type ExchangeOnlineError struct{ URL string }

func (e *ExchangeOnlineError) Error() string {
	return fmt.Sprintf("%s is Exchange Online. %s", e.URL, RetirementNotice)
}

// CheckNotExchangeOnline returns an *ExchangeOnlineError for a URL on
// Exchange Online.
func CheckNotExchangeOnline(raw string) error {
	if IsExchangeOnline(raw) {
		return &ExchangeOnlineError{URL: strings.TrimSpace(raw)}
	}
	return nil
}
