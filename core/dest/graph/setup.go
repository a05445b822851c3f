package graph

// AppRequirements says what a Graph destination needs in the tenant, for
// both faces to show next to the Graph fields (the README's "Setting up
// Exchange Online" has the steps).
const AppRequirements = "Needs an app registration in the tenant's Microsoft Entra admin center " +
	"(App registrations › New registration, this organization only) with the Microsoft Graph " +
	"APPLICATION permissions Mail.ReadWrite and Mail-Advanced.ReadWrite.All (for MIME import), " +
	"admin consent granted, and a client secret (its Value, not its ID) or an uploaded certificate. " +
	"Tenant = Directory (tenant) ID or contoso.onmicrosoft.com; Client ID = Application (client) ID."

// SetupGuideURL is the README section with the step-by-step setup.
const SetupGuideURL = "https://github.com/mailferry/mailferry#setting-up-exchange-online-once-per-tenant"
