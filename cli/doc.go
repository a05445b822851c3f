// Package cli is MailFerry's headless command line: the second face of the
// same core the GUI uses, for admins who script and for tests. It never
// imports Fyne, so it runs without a display (a test enforces this).
//
// The verbs, flags and JSON shapes below are a stable interface (DESIGN
// §8): flags and JSON fields may be added, never renamed or removed.
//
// # Invocation
//
//	mailferry [--db PATH] [--json] VERB [SUB] [ARGS and FLAGS in any order]
//
// Flags may come before, between or after positional arguments ("--" ends
// the flags). The global flags --db PATH and --json are also accepted
// after the verb. The database is --db, else $MAILFERRY_DB, else
// <user config dir>/MailFerry/mailferry.db.
//
// Exit codes: 0 success; 1 failure (the reason on stderr: not found,
// validation errors one per line as "invalid: field: reason", a locked or
// foreign database, a failed connection test, a CSV with row errors, ...);
// 2 usage error (unknown verb, sub-command or flag, bad flag syntax, a
// missing or extra argument, contradictory flags): the error and the usage
// text go to stderr. --help prints the usage on stdout and exits 0.
//
// Setup errors (core's project.ErrSetup: no password sealed, no login
// name, a login template that cannot be built, no SMTP settings) exit 1
// with the command that fixes them, e.g. "(set it with: mailferry smtp set
// --project ...)"; they are never reported as a refused login. A migrated
// user failed by one has the status message "setup error (nothing was sent
// to the server): ..." (migrate --json: "setup_error": true).
//
// # A second terminal
//
// bbolt gives the process that opens the database for writing an
// exclusive lock for as long as it runs. The long-running commands
// (migrate, credreq serve) and the GUI share the database for reading
// (store.ShareReadOnly): a loopback endpoint that streams a consistent
// copy, guarded by a token in <db>.share (mode 0600, next to the
// database). The read-only commands — status, users list, project list,
// project show, stats, smtp show, plan, cutover — open the database with
// store.OpenReadOnly: the file itself under a shared lock when nobody
// writes, else that copy, so they run next to a migration, the credential
// server or the GUI and show their latest committed state. Other commands
// wait one second for the lock, then exit 1 saying the database is in use
// and which commands work meanwhile.
//
// # Secrets
//
// A password or client secret is never a flag value (it would show in
// the process list and the shell history). It comes from
// --password-env VAR / --secret-env VAR (the variable must be set and not
// empty, else exit 1) or --password-stdin / --secret-stdin (the first line
// of standard input, without its line ending). It is sealed at once with
// store.SetSecret; only the opaque reference is kept in the project, and
// no output of this package ever shows a secret or a reference: JSON has
// password_set / secret_set booleans instead.
//
// # Verbs
//
//	project create NAME [--customer C]
//	project list [--json]
//	project show NAME [--json]
//	project delete NAME
//	project rename NAME NEWNAME
//	project set NAME [--customer C] [--max-concurrent-users N] [--max-errors-per-user N]
//	        [--folder-mapping RULE ...] [--clear-folder-mapping] [--folder-filter REGEX]
//	        [--max-item-size-mb N] [--prestage-days N] [--date-from D] [--date-to D]
//	        [--include-shared-folders[=false]]
//	project export NAME FILE [--with-secrets (--passphrase-env VAR | --passphrase-stdin)]
//	        FILE "-" = stdout; file mode 0600
//	project import FILE [--passphrase-env VAR | --passphrase-stdin] [--without-secrets] [--as NAME]
//	        FILE "-" = stdin
//	endpoint set --project P --side source|dest --type imap|gworkspace|gmail|m365-imap|ews|graph ...
//	        graph: --tenant T --client-id ID (--secret-env VAR | --secret-stdin | --cert-file PEM)
//	        [--provider NAME] [--cloud global|usgov|usgov-dod|china] [--graph-url URL]
//	        [--authority URL] [--trust-fingerprint SHA256]
//	        gworkspace: --service-account-file KEY.json [--include-trash-spam] [--daily-limit-mb N]
//	                [--host H] [--port N] [--security S]
//	        m365-imap: --tenant T --client-id ID (--secret-env VAR | --secret-stdin | --cert-file PEM)
//	                [--cloud global|usgov|usgov-dod|china] [--authority URL]
//	                [--host H] [--port N] [--security S]
//	        gmail: [--token-env VAR | --token-stdin] [--include-trash-spam] [--daily-limit-mb N]
//	                [--host H] [--port N] [--security S]
//	        imap: ... [--token-env VAR | --token-stdin]
//	endpoint test --project P --side source|dest [--user EMAIL] [--json]
//	providers list [--json]
//	providers add --name N (--ews-url URL | --owa-url URL | --graph [--cloud C]) [--notes TEXT]
//	providers remove --name N
//	users import --project P FILE.csv [--addresses-only] [--accept-valid]
//	        [--dest-domain DOMAIN] [--keep-passwords] [--dry-run]
//	users list --project P [--json]
//	users set --project P --user EMAIL [--clear-options] --option Key=Value ...
//	users add --project P --user EMAIL --dest EMAIL [--source-login L] [--dest-login L]
//	        [--flags F] [--user-root R] [--password-env VAR | --password-stdin]
//	        [--dest-password-env VAR | --dest-password-stdin]
//	users edit --project P --user EMAIL [--new-user EMAIL] [--dest EMAIL] [--source-login L]
//	        [--dest-login L] [--flags F] [--user-root R] [--password-env VAR | --password-stdin]
//	        [--dest-password-env VAR | --dest-password-stdin] [--clear-password] [--clear-dest-password]
//	users remove --project P --user EMAIL[,EMAIL...] ...
//	users template [--format migrationwiz|microsoft] [FILE]
//	        FILE "-" or none = stdout; no database needed
//	plan --project P --user EMAIL [--json]
//	migrate --project P --pass verify|trial|prestage|full|retry [--users a,b]
//	        [--prestage-days N | --prestage-before YYYY-MM-DD] [--json]
//	        [--request-credentials [--credreq-addr HOST:PORT] [--public-url URL] [--wait DURATION]]
//	        [--at HH:MM|"YYYY-MM-DD HH:MM"|RFC3339]
//	status --project P [--users a,b] [--errors] [--json]
//	stats --project P [--json | --csv FILE | --html FILE | --email TO[,TO2] [--preview]] [--errors]
//	        FILE "-" = stdout
//	smtp set --project P --host H [--port N] [--security ssl|starttls|none] --from ADDR
//	        [--user U (--password-env VAR | --password-stdin)]
//	smtp show --project P [--json]
//	smtp test --project P --to ADDR
//	notify --project P [--when "YYYY-MM-DD HH:MM" [--tz ZONE]] [--users a,b] [--template FILE]
//	        [--preview] [--json]
//	credreq serve --project P [--addr HOST:PORT] [--host NAME ...] [--cert FILE --key FILE]
//	        [--public-url URL] [--ttl 72h] [--send [--users a,b] [--template FILE]]
//	credreq status --project P [--json]
//	cutover --project P [--dns-server HOST[:PORT]] [--json]
//	version [--json]
//
// version prints what the GUI's Help > About shows (core/about): the
// version, the web site, the log folder (<user config dir>/MailFerry/logs,
// which Help > Open Log Folder opens) and the database file; it opens
// nothing. --json: {"version", "website", "log_dir", "db"}.
//
// endpoint set changes the endpoint in place when --type is omitted or the
// same as stored (flags not given keep their values); a new type starts
// from an empty endpoint. IMAP defaults: --security ssl, --port 993 with
// ssl and 143 otherwise (a port that was the old default follows a change
// of --security). The EWS server options --url, --owa-url, --autodiscover
// and --provider exclude each other; giving one clears the others (an
// endpoint stored with two of them is refused by core's one-way rule,
// "give only one way to find the server", until one is given). A flag
// of another endpoint type (e.g. --tenant for imap) is a usage error. The
// stored password is kept unless a new one is given; changing
// --admin-user without a new password drops it. The endpoint is checked,
// sealed and saved by core/usecase.SaveEndpoint, the same step as the
// GUI's Save: an EWS --url or --owa-url with plain http:// is refused
// there (use the https:// address), and --provider must name a catalog
// entry (stored in the catalog's spelling). --login-template must contain
// {user} or {local} and may use {domain} and {admin} (optionally after
// "authzid:"); the same rule applies when a login is built.
//
// Microsoft 365 is reached through Graph only: an EWS endpoint whose
// --url or --owa-url is on Exchange Online (outlook.office365.com,
// outlook.office.com, and the national clouds' hosts), or whose --provider
// is a Microsoft 365 catalog entry, is a usage error (exit 2) that explains
// the EWS retirement (blocked for apps not on the tenant's allow list since
// 1 October 2026, off on 1 April 2027) and prints the endpoint set command
// that switches to Graph. Hosted Exchange providers stay on EWS.
//
// Graph endpoints: --cloud picks the Graph root and sign-in authority
// (global: graph.microsoft.com and login.microsoftonline.com; usgov:
// graph.microsoft.us and login.microsoftonline.us; usgov-dod:
// dod-graph.microsoft.us and login.microsoftonline.us; china:
// microsoftgraph.chinacloudapi.cn and login.chinacloudapi.cn), and the
// token scope {Graph root}/.default. --graph-url and --authority (https
// only) override the root and the authority, e.g. for a proxy or the
// emulator; the scope stays the cloud's. TLS to both is verified against
// the system roots (on Linux SSL_CERT_FILE and SSL_CERT_DIR are honoured),
// or, with --trust-fingerprint, only the certificate with that SHA-256 is
// accepted. --provider NAME takes the cloud of a Microsoft 365 catalog
// entry. Messages are imported from their original MIME (beta importMime)
// when the app has Mail-Advanced.ReadWrite.All in the global cloud, else
// created as JSON (see README, "Exchange Online (Graph)").
//
// OAuth sources (IMAP with SASL OAUTHBEARER or XOAUTH2, whichever the
// server's CAPABILITY offers; see README "Google Workspace" and
// "Microsoft 365 over IMAP"):
//
//   - gworkspace: Google Workspace, admin-wide. --service-account-file is
//     a service-account JSON key with domain-wide delegation for the scope
//     https://mail.google.com/; MailFerry gets a token per user by
//     impersonation from the key's token_uri and caches it until a few
//     minutes before it expires. The key file's contents are sealed like
//     passwords; a file that is not a service-account key (e.g. an OAuth
//     client file) is refused with what to download instead.
//   - m365-imap: Microsoft 365 over IMAP with app-only OAuth (client
//     credentials for https://outlook.office365.com/.default; the app needs
//     IMAP.AccessAsApp with admin consent, its service principal registered
//     in Exchange and FullAccess to each mailbox). --tenant, --client-id,
//     --secret-env/--secret-stdin/--cert-file are those of a Graph
//     endpoint; --authority (default the cloud's,
//     https://login.microsoftonline.com in the global cloud; https, or http
//     to this computer only) moves the token endpoint to
//     {authority}/{tenant}/oauth2/v2.0/token. --cloud (as for graph) moves
//     the sign-in authority, the token scope and the default IMAP host to
//     the national cloud's: usgov (GCC High) login.microsoftonline.us,
//     https://outlook.office365.us/.default, outlook.office365.us;
//     usgov-dod login.microsoftonline.us, outlook-dod.office365.us; china
//     (21Vianet) login.chinacloudapi.cn, partner.outlook.cn. A --host of
//     your own (a proxy) stays when the cloud changes.
//   - gmail: one Gmail account: the user's app password (as for imap), or
//     with --token-env/--token-stdin an OAuth access token obtained for the
//     account (sealed; used for every login of the project).
//   - imap with --token-env/--token-stdin logs in with that access token.
//
// Gmail's labels (gworkspace, gmail, and any server with a SPECIAL-USE
// \All folder): a message is migrated once into each label's folder and
// never again from [Gmail]/All Mail, whose remaining (archived) messages
// go to "Archive"; Sent Mail and Drafts go to the destination's folders of
// those roles; Starred and Important are not folders (starred messages
// keep \Flagged, the follow-up flag); the "[Gmail]" prefix disappears.
// Trash and Spam are skipped unless --include-trash-spam is given
// (--include-trash-spam=false turns it off again). Google allows about
// 2,500 MB of IMAP download per user and day: a pass pauses a Gmail
// mailbox after --daily-limit-mb MB (default 2400), the user's status is
// Stopped with the reason and "resume at <next midnight UTC>", passes of
// the same day go on counting (the day's download is kept in the
// database), and the next pass (the next day) goes on where it stopped;
// Gmail's own "bandwidth limits" answer stops it the same way. On a server
// announcing X-GM-EXT-1 (Gmail) messages are known by X-GM-MSGID, not by
// their headers, and a label \Starred becomes \Flagged.
//
// Their --host, --port and --security default to the provider's
// (imap.gmail.com, or outlook.office365.com / the --cloud's host, 993,
// ssl) and take other
// values as for imap (tests, proxies).
//
// endpoint test runs core/usecase.TestEndpoint, the GUI's Test connection
// step: the step-by-step test of core/probe (IMAP: DNS, TCP,
// TLS or STARTTLS with the certificate, CAPABILITY, LOGIN) or of
// core/dest/ews (URL resolution, TCP, TLS, authentication, access mode) and
// prints every step; exit 1 when the endpoint is not usable. A step that
// failed without that (impersonation with delegation set) makes the verdict
// "OK with warnings" (exit 0). It logs in as the
// endpoint's admin when it has a password (IMAP: no login is tested
// without one); with --user EMAIL it uses the credentials the migration
// would use for that user (the user's own password, else the admin through
// the login template; an "authzid:" template is tested as the admin's own
// LOGIN). A Graph endpoint is tested with the app's credential (client
// secret or certificate) for the mailbox of --user EMAIL (default: the
// project's first user): configuration (cloud, Graph root, token
// endpoint), token, permissions in the token's roles (Mail.ReadWrite
// required; Mail-Advanced.ReadWrite.All for MIME import), the mailbox
// (a 403 from an Exchange Online application access policy is named, with
// the fix: add the mailbox to the policy's group, check with
// Test-ApplicationAccessPolicy), and "creation path: importMime|json" with
// the reason. --json adds credential, roles, policy_blocked,
// creation_path and creation_reason; for EWS, exchange_online is true when
// the URL (given or found by Autodiscover) is Exchange Online. An OAuth
// endpoint (gworkspace, m365-imap, or imap/gmail with a token) is tested
// for the mailbox of --user EMAIL (default: the project's first user):
// DNS, TCP, TLS, CAPABILITY, then TOKEN (issued, and for how long; a
// refusal names the fix: domain-wide delegation missing with the client ID
// to enter, unknown user, wrong or expired client secret, tenant not
// found), SCOPE (Microsoft: the token's IMAP.AccessAsApp permission) and
// LOGIN (the server's refusal explained: token expired, wrong scope, admin
// consent or mailbox permission missing).
//
// users import is all-or-nothing: each row error is printed on stderr as
// "FILE: line N, column C: reason" and, unless --accept-valid is given,
// nothing is saved and the exit code is 1. Users already in the project
// are updated in place: their status and history stay, and their
// passwords and support options stay unless the CSV gives new ones.
// A password the file gives replaces the stored one only when it differs
// (an equal one is not sealed again); the summary counts those replaced,
// and --keep-passwords keeps every stored password (the file's then only
// fill users who have none). --dry-run prints, per valid row, "new",
// "updated" (with what changes: destination email, source password
// replaced, …) or "unchanged" and the source and destination addresses
// (core/usecase.PlanImport, the marks of the GUI's preview), then saves
// nothing. A Microsoft-format file has no destination column: each
// user's destination address is the source address (a warning says so)
// unless --dest-domain DOMAIN makes it the source local part @ DOMAIN;
// a MigrationWiz file's own Destination Email wins (the flag is ignored
// with a warning).
// It is core/usecase.ImportUsers, as the GUI's import: with
// --addresses-only a re-imported user who already gave a password is not
// asked again (addresses-only means "still waiting for a password").
//
// users add and users edit are core/usecase.SaveUser, the GUI's Add user
// and Edit user: the fields are checked with the CSV import's rules
// (csvimport.CheckUser; exit 1 with "invalid: FIELD: reason" lines, FIELD
// as in users list --json) and the passwords sealed. A user added without
// --password-* has no source password and is addresses-only (the
// credential request asks for it); adding an address already in the
// project is exit 1 ("edit it instead"). users edit changes only the
// fields given; the status, history and the passwords not given stay;
// --new-user moves the user to another source address (exit 1 when that
// is another user's). Only one password may come from standard input.
// users remove deletes the users with their sealed passwords and
// migration state, all or nothing (an address that is no user of the
// project: exit 1, nothing removed).
//
// users template writes an empty users CSV of the format (default
// migrationwiz) to fill in: a UTF-8 byte order mark (Excel keeps accents
// when it saves the file again), the header line and CRLF — the file the
// GUI saves with "CSV template…" (core/csvimport.Template).
//
// users set applies --option lines in order: a key's new value replaces
// its old line, except FolderMapping rules, which accumulate; "Key=" with
// an empty value removes the key. The result is checked with
// project.ParseSupportOptions: an unknown key or bad value is exit 1 with
// the reason, and nothing is saved.
//
// migrate runs one pass with core/engine and waits. Progress goes to
// stderr, one line per user at every status or phase change (connecting,
// listing folders, creating folders, migrating) and at most once a second
// while items move, with an ETA once items have moved for a few seconds
// (engine.ETAAfter) and the folder being copied:
//
//	alice@example.com: Running, migrating  folders 2/7  items 130/410  3.1 MB  900 MB/h  ETA 12m  [INBOX]
//
// and, every 5 seconds when the pass has several users, the project's
// totals (the ETA is the longest running user's; queued users come after):
//
//	project Acme: 4 running, 6 queued, 2 ended; items 5120/20480, 310.2 MB, ETA 25m (+ 6 queued users)
//
// --at starts the pass at a chosen time (core/schedule): HH:MM is the next
// time the local clock shows it (today or tomorrow), "YYYY-MM-DD HH:MM" is
// local time, or RFC 3339. The command says when it starts and waits; a
// time that has passed is exit 2; SIGINT before then starts nothing.
//
// While a pass runs the computer is kept awake (core/awake: Windows
// SetThreadExecutionState, macOS caffeinate, Linux systemd-inhibit when a
// session bus answers; without one it logs that and runs anyway).
//
// Stopping one user: the CLI's pass stops as a whole (SIGINT); the GUI
// stops single users (engine.StopUser) and adds users to a running pass
// (engine.Join). From a script, run users in separate migrate commands
// (--users) to stop them one by one; a stopped user continues where it
// stopped with the next pass.
//
// Every pass, Verify Credentials and Trial included, reports what decides
// where folders go, after the table as "USER found:" lines (JSON: "notes"):
// the namespaces of the source and of an IMAP destination, where each
// special folder goes and why (`special folder "Sent": named "Sent" →
// "INBOX.Sent Messages"`), and folders the destination refused by name and
// got a sanitised one. The same lines are progress messages on stderr.
//
// A Verify Credentials pass that logged in to both sides ends as
// "Credentials Verified" (not "Completed": it moves no mail).
//
// The summary goes to stdout (a table, or JSON with --json). SIGINT or
// SIGTERM cancels the run: running users stop promptly as Stopped with a
// consistent checkpoint, and the next pass continues where they stopped.
// Exit 1 when a user ends Failed or Stopped (Completed With Errors and
// Waiting For End User are exit 0: see status). --prestage-days and
// --prestage-before only go with --pass prestage (default cutoff: the
// project's prestage_days).
//
// migrate --request-credentials is the credential request as part of
// the pass (core/credreq.PassRunner, the same use case as the GUI's
// Start): each selected user without a source password (and no source
// admin login) is emailed a one-time link through the project's SMTP
// settings — unless a link sent earlier from the same address still works
// (it is not sent again) — and printed on stdout (stderr with --json) as
//
//	bob@example.com: Waiting For End User (link sent, valid until 2026-03-17 18:00)
//
// The others start at once. The command serves the page itself on
// --credreq-addr (default 127.0.0.1:0, loopback only; e.g. 0.0.0.0:8443
// for the LAN; links name this address, or --public-url), prints the link
// base and the certificate's SHA-256 fingerprint, and migrates each
// waiting user in the same pass the moment the page has verified their
// login name and password. It returns when every selected user has ended,
// or when --wait ran out (or their links expired): users who did not
// confirm stay Waiting For End User (summary status and exit 0; a later
// migrate --request-credentials or credreq serve at the same address
// still answers their link). Users without a password but no SMTP
// settings: exit 1 before anything starts, saying to run smtp set.
//
// plan logs in to the source as the user, lists the folders and prints
// source → destination for each (mapping rules, filter, sanitising,
// collisions: core/mapping); nothing is written anywhere. Source folder
// names lose the source's personal-namespace prefix (NAMESPACE, RFC 2342:
// "INBOX.Archive.2020" on a cPanel server is Archive/2020); folders of its
// shared and other users' namespaces are skipped unless the project was
// set with --include-shared-folders. Special folders (SPECIAL-USE \Sent
// \Drafts \Trash \Junk \Archive, else conventional names) show where they
// go and why, e.g. `Sent Messages → Sent Messages (\Sent on the source →
// Sent Items)`; their subfolders follow them; a mapping rule that renames
// such a folder wins over its role.
//
// status reads the store only (no server is contacted): each user's status,
// last pass, what the journal holds as migrated, failed items and the last
// run; --errors adds every failed item (folder, uid, subject, date, size,
// reason, hint). While a pass runs (in the GUI or a migrate in another
// terminal) each Running user's phase, folder, items and ETA follow the
// table, as that process saved them at most 2 seconds earlier
// (store.Live), with the running total:
//
//	alice@example.com: full, migrating  folders 2/7  items 130/410  ETA 12m  [INBOX]  (as of 21:40:12)
//	running: 1 user(s), items 130/410, ETA 12m (+ 3 queued)
//
// Last, status names the first step of the checklist a new admin follows
// (core/usecase.NextSteps: 1 endpoints set, 2 users imported, 3
// connections tested by Verify Credentials, 4 a Trial pass, 5 a Full pass
// for every user, 6 no failed items left, 7 cutover) that is not done yet,
// with its command; the GUI shows the same checklist under the project bar:
//
//	next step 3 of 7, Connections tested: run Verify Credentials: ... nothing is copied
//	  mailferry migrate --project "Acme" --pass verify
//
// stats aggregates the journal with core/stats: a summary and a per-user
// table, or the JSON, the CSV (one row per user and a TOTAL row) or the
// self-contained HTML report (with each failed item). stats --email sends
// that HTML report as the body of one message (a plain-text summary as its
// alternative, the CSV attached) to the recipients (separated by commas or
// semicolons) through the project's SMTP settings (notify.EmailStats, the
// same TLS rules as smtp test); a recipient the server refuses is exit 1.
// With --preview it prints that message instead (From, To, Subject, the
// text part, each attachment's name, type and size, the HTML part's size)
// and sends nothing; it needs no SMTP settings.
//
// project export writes the project and its users as JSON (format
// version 2) without any password. With --with-secrets the passwords are
// included encrypted: scrypt derives a key from the passphrase (at least 8
// characters, given like a password: --passphrase-env VAR or
// --passphrase-stdin) and a random salt, AES-256-GCM seals them, bound to
// the project and users in the file so that an altered file is refused.
// --with-secrets without a passphrase is exit 2: passwords are never
// written in clear. project import of a file with sealed passwords needs
// the same passphrase (exit 1 "this export contains passwords: give the
// passphrase" without one, "wrong passphrase" for another one), or
// --without-secrets to import the project and users without passwords.
// Version 1 files (passwords in clear, from older versions) still import.
// The project keeps its exported name unless --as NAME gives another;
// when the name is taken the import is exit 1 naming --as with the first
// free copy name (core/project.CopyName: "Acme (2)", "Acme (3)", …, the
// name the GUI offers too).
//
// smtp set changes the project's SMTP settings (core/notify) in place:
// flags not given keep their values. Defaults: --security starttls, --port
// 465 with ssl, 587 with starttls, 25 with none (a port that was the old
// default follows a change of --security). The settings are checked with
// notify.ValidateSMTP (exit 1, "invalid: smtp.FIELD: reason" lines, nothing
// saved). The password is sealed like an endpoint's; a new one replaces
// the old, whose secret is deleted, and changing --user without a new
// password drops it. The server's certificate is always verified against
// the system roots (there is no fingerprint pin for SMTP: project.SMTP has
// no field for one). smtp show prints the settings (never the password);
// exit 1 when there are none. smtp test sends one test message to --to.
//
// notify emails the "Notify Users" message (notify.DefaultNotifyTemplate,
// or --template FILE: JSON {"subject": ..., "body": ...} with the
// placeholders {date} {time} {user} {email} {destination} {project}
// {customer}) to each selected user's source address (default: every
// user) for a migration at --when (in --tz, an IANA zone such as
// Europe/Berlin, default this computer's zone; {time} reads e.g.
// "18:00 CET (UTC+01:00)"; without --when a built-in message announces the
// move without a date), and records who was notified. One line per user
// ("sent    ID" / "failed  ID: reason") and a total; exit 1 when a message
// failed or nothing could be sent. --preview prints each rendered message
// (From, To, Subject, body; with --json a list of {"from", "to",
// "subject", "body"}) and sends nothing; it needs no SMTP settings.
//
// credreq serve runs the credential request (core/credreq) until SIGINT
// or SIGTERM: it serves the HTTPS password page on --addr (default
// 127.0.0.1:0, a free port on loopback only; use e.g. 0.0.0.0:8443 for the
// LAN) with a self-signed certificate for the --host names (or --cert and
// --key), asks for the login name (pre-filled with the CSV's source login
// name, else the address) and the password, checks both by an IMAP login
// to the project's source, stores the password sealed and the login name
// with the user, and queues the user. A refused login says the login name
// or the password was wrong without telling which; an unreachable server
// or a setup error (TLS, configuration) is never told as a wrong password
// and not counted against the 5 attempts. It prints the link base URL and
// the certificate's SHA-256 fingerprint (to tell users), then with --send
// emails a one-time link (valid for --ttl) to each selected user (default:
// the users without a source password) through the project's SMTP
// settings (--template FILE as for notify, with {link} and {expires}
// instead of {date} and {time}). Links are never printed. A line
//
//	ready   alice@example.com: password confirmed, user Queued (1 so far)
//
// is printed each time a user completes. Without --send it serves links
// sent earlier (they stay valid while the URL is the same). Exit 1 when
// the server cannot start or the links cannot be sent; 0 after a stop.
// After the fingerprint it prints who can open the links ("reach: SCOPE:
// sentence", SCOPE this-computer, lan, public or unknown: a loopback
// address reaches nobody else, a private one this network only), a
// "reach: WARNING:" line when this computer cannot reach the server
// through the links' address, and "note:" lines on the firewall prompt
// and the certificate warning users will see.
//
// credreq status prints each user's latest link from the store (no
// server needed): "STATE USER: detail", STATE one of issued (not
// emailed), sent, opened, submitted (a form was sent, not accepted yet),
// locked (too many wrong passwords), verified, expired. --json: a list of
// {"user", "state", "issued", "sent"?, "opened"?, "submitted"?,
// "verified"?, "expires", "failures"?, "base", "detail"}.
// The server logs (never a password or token) go to stderr.
//
// cutover looks up, for each destination domain of the users, the MX,
// the Autodiscover CNAME and the _autodiscover._tcp SRV records
// (core/cutover) with the system resolver, or the DNS server given by
// --dns-server, and prints each domain's verdicts and a total. For a
// domain that is not ready it also prints the records the destination
// needs ("Records the destination needs:", one "TYPE NAME → VALUE" line
// each: Exchange Online, hosted Exchange, Google or IMAP values). Exit 0
// when every domain points to the destination, 1 when not (or on an error).
//
// # JSON
//
// Field names are snake_case, the same as the JSON tags of package
// project. Times are RFC 3339. Output is one indented JSON document.
//
// project list --json: an array (empty: []) of
//
//	{"name", "customer", "created", "demo": bool,
//	 "source_type": "imap"|"", "dest_type": "imap"|"ews"|"graph"|"", "users": int}
//
// project show --json:
//
//	{"name", "customer", "created", "demo",
//	 "source": ENDPOINT|null, "dest": ENDPOINT|null,
//	 "options": {"max_concurrent_users", "max_errors_per_user", "folder_mapping"?,
//	             "folder_filter"?, "date_from"?, "date_to"?, "max_item_size_mb"?, "prestage_days"?},
//	 "smtp": {"host", "port", "security", "from", "user", "password_set"}|null,
//	 "users": int}
//
// ENDPOINT is project.Endpoint without password_ref / secret_ref (fields
// that are empty are omitted) plus "password_set" and "secret_set":
//
//	{"type", "host"?, "port"?, "security"?, "trust_fingerprint"?, "login_template"?,
//	 "admin_user"?, "url"?, "owa_url"?, "autodiscover_email"?, "provider"?,
//	 "access"?, "auth"?, "tenant"?, "client_id"?, "cloud"?, "graph_url"?, "authority"?,
//	 "password_set": bool, "secret_set": bool}
//
// users list --json: an array (empty: []) sorted by source email of
//
//	{"source_email", "source_login", "dest_email", "dest_login", "user_root",
//	 "flags", "support_options": [string], "addresses_only": bool,
//	 "status": "Not Submitted"|"Submitted"|…|"Credentials Verified"|…|"Stopped", "last_pass": ""|"verify"|…,
//	 "source_password_set": bool, "dest_password_set": bool}
//
// (every field always present; never a password or a reference.)
//
// endpoint test --json (printed even when the test fails, exit 1 then):
//
//	{"project", "side", "type", "addr" (host:port or EWS URL), "security",
//	 "login" (login name used, "" = none), "ok": bool,
//	 "verdict" ("passed", "passed with warnings": a step failed but the
//	           endpoint is usable, e.g. impersonation when delegation is set;
//	           "failed"), "error" (first failure),
//	 "steps": [{"name", "ok", "detail", "error", "duration_ms"}],
//	 "cert": {"subject", "issuer", "not_before", "not_after", "names", "sha256",
//	          "verified", "pinned", "verify_error"}|null,
//	 "capabilities": [string], "ews_version"?}
//
// IMAP step names: CONFIG, DNS, TCP, STARTTLS, TLS, CAPABILITY, LOGIN.
//
// migrate --json:
//
//	{"project", "pass", "start", "end",
//	 "users": [{"user", "status", "items_migrated", "bytes_migrated", "items_skipped",
//	            "items_failed", "duration_seconds", "error", "notes"?: [string],
//	            "setup_error"?: true, "reason"?: REASON}],
//	 "counts": {"Completed": n, "Failed": n, ...}}
//
// items_migrated counts items written by this pass (0 on a rerun after
// success); items_skipped those found already at the destination.
//
// REASON explains a user who failed as a whole (status Failed), computed
// once by core/failure for both faces (the GUI's Reason column):
//
//	{"kind": "credentials"|"admin-login"|"setup"|"tls"|"connect"|"throttled"|
//	         "refused"|"too-many-errors"|"other",
//	 "side"?: "source"|"dest", "title", "explanation", "fix" (in the window's
//	 words), "cli_fix" (as mailferry commands)}
//
// "credentials" is the user's own password refused (fix it, or ask the user
// with credreq serve --send); "admin-login" the admin, app or OAuth login;
// "setup" a setting that kept MailFerry from sending anything (never a
// wrong password). The text output prints, after the table, a line per
// failed user: "USER: TITLE. EXPLANATION" and "  Fix: CLI_FIX".
//
// status --json:
//
//	{"project", "counts": {STATUS: n},
//	 "users": [{"source_email", "dest_email", "status", "last_pass", "folders",
//	            "items_migrated", "bytes_migrated", "items_failed", "bytes_failed",
//	            "passes": n,
//	            "last_run": {"seq", "pass", "start", "end"?, "status"?, "error"?,
//	                         "items_migrated", "bytes_migrated", "items_skipped",
//	                         "bytes_skipped", "items_failed", "bytes_failed",
//	                         "failure"?: {"kind", "side"?}}|null,
//	            "reason"?: REASON + "detail" (the error line of the failed pass),
//	            "failed_items"?: [{"key", "content_key"?, "folder", "uid", "subject"?,
//	                               "date"?, "size", "reason", "hint"?, "pass",
//	                               "pass_seq", "time"}],
//	            "now"?: {"pass", "phase", "folder"?, "folders_done", "folders_total",
//	                     "items_done", "items_total", "items_failed", "bytes",
//	                     "eta_seconds"?, "at"}}],
//	 "running"?: {"users", "items_done", "items_total", "eta_seconds"?},
//	 "steps": [{"n", "title", "done", "how"}], "next_step": n (0: all done)}
//
// items_migrated here is everything the journal records as at the
// destination, over all passes; failed_items only with --errors. reason
// is present when the last pass failed the user as a whole; the text
// output then has a REASON column (its title) and, after the table, the
// explanation, "  Fix: …" and "  Details: …" (the error line, which the
// LAST RUN column then leaves out).
//
// stats --json is core/stats.ProjectStats as that package tags it:
//
//	{"project", "customer"?, "generated", "items_migrated", "bytes_migrated",
//	 "items_skipped", "bytes_skipped", "items_failed", "bytes_failed",
//	 "duration_ns", "mb_per_hour", "passes_run",
//	 "by_pass": [{"pass", "runs", COUNTS..., "duration_ns"}],
//	 "by_status": {STATUS: n},
//	 "users": [{"user", "dest_email"?, "status", "last_pass"?, COUNTS...,
//	            "duration_ns", "mb_per_hour", "by_pass": [...],
//	            "history": [PASS RECORD as in status' last_run],
//	            "folders": [{"folder", "items", "bytes", "failed", "failed_bytes"}],
//	            "failures"?: [FAILED ITEM as in status], "last_run"?}]}
//
// plan --json:
//
//	{"project", "user", "rows": [{"source", "dest": [string]|null, "skipped",
//	                              "reason", "role", "role_note"?, "namespace"?,
//	                              "messages"}]}
//
// smtp show --json:
//
//	{"host", "port", "security", "from", "user"?, "password_set": bool}
//
// notify --json (printed even when sending fails, exit 1 then):
//
//	{"project", "when", "sent": [user id], "failed": {user id: reason}, "error"?}
//
// cutover --json (exit 1 when "ready" is false):
//
//	{"project", "ready": bool, "summary",
//	 "domains": [{"domain", "ready", "summary",
//	              "records": [{"kind": "MX"|"Autodiscover CNAME"|"Autodiscover SRV",
//	                           "name", "values"?: [string],
//	                           "verdict": "destination"|"partial"|"elsewhere"|"missing"|"error",
//	                           "detail"}]}]}
package cli
