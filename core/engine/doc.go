// Package engine runs MailFerry's migration passes (DESIGN §2, §3): it
// schedules users, drives each user's source → destination pipeline,
// writes checkpoints to the store's journal and emits progress events.
//
// # API (used by the CLI and the GUI)
//
//	e := engine.New(st, engine.Options{})             // st *store.Store
//	events, unsubscribe := e.Subscribe()              // <-chan engine.Event
//	defer unsubscribe()
//	sum, err := e.Run(ctx, "Acme", project.PassFull, []string{"a@acme.com"}, engine.PassOptions{})
//	// cancel ctx to Stop: users end as Stopped, the journal stays consistent.
//	e.Latest("Acme")                                  // newest Event per user (for late subscribers)
//	e.MarkWaiting("Acme", "b@acme.com", project.PassFull, "link sent") // Waiting For End User, stored + event
//	rows, err := e.Plan(ctx, "Acme", "a@acme.com")    // []mapping.PlanRow: source → destination tree
//	st.Journal().FailedItems("Acme", "a@acme.com")    // error details (folder, subject, date, size, reason, hint)
//	st.Journal().Passes("Acme", "a@acme.com")         // pass history with counters
//	stats.Collect(st, "Acme", true)                   // aggregated statistics (core/stats)
//
//	added, err := e.Join("Acme", project.PassFull, []string{"c@acme.com"}) // into the running Full pass
//	e.StopUser("Acme", "a@acme.com")                  // stop one user; the others go on
//	engine.Totals(e.Latest("Acme"))                   // project totals and ETA
//	st.Live("Acme")                                   // running users' progress, for another process
//
// A user already being run by the same Engine is left alone by a second
// Run (its summary says so).
//
// Join adds users to a running pass of the same kind: they wait for one
// of its MaxConcurrentUsers slots, run with its PassOptions, and the Run
// that started it returns once they have ended too, with their outcomes
// in its Summary (ErrNoRunningPass when no such pass runs). StopUser
// cancels one queued or running user (Stopped, journal consistent, as
// when the whole Run's ctx is cancelled). Options.KeepAwake (the faces
// pass core/awake.Hold) is held from the first pass's start to the last
// one's end, so the computer does not sleep mid-migration.
//
// Run blocks until every selected user (all users when the list is empty)
// has ended, at most Options.MaxConcurrentUsers of the project at a time.
// Its error is for the run as a whole (unknown project, user or pass,
// endpoints not set); each user's outcome is in Summary.Users and in the
// store (User.Status, User.LastPass), with these statuses (DESIGN §1.4):
// Queued when Run accepts it, Running while it moves, then Completed,
// Completed With Errors (some items failed), Failed (login refused,
// connection lost after the retries, more failed items than
// MaxErrorsPerUser), Stopped (ctx cancelled) or Waiting For End User (no
// password and no admin login: the credential request must run first).
// Failed items, pass history and counters are in store.Journal
// (FailedItems, Passes, Folders); core/stats aggregates them.
//
// Events: one whenever a user's status or phase changes or a folder
// starts, and at most every Options.EventInterval (default 250ms) while
// items move. Each carries the user's phase (connecting, listing folders,
// creating folders, migrating), the current folder, folders done/total,
// items done/total (items already migrated by earlier passes count as
// done), failed items, bytes written in this pass, MB/h and an ETA: the
// items left at the rate items were written since copying began, given
// once items have moved for ETAAfter (an estimate: folders not listed yet
// count all their messages, so a delta pass estimates high at first).
// Totals sums a project's events (the longest running ETA; queued users
// come after it). Every LiveInterval and at each phase change a running
// user's progress is also saved to the store (store.Live), so `status`
// in another process shows it; it is deleted when the user ends. A subscriber that falls 1024 events behind loses
// events; Latest always has each user's newest state.
//
// # Passes
//
//   - verify: log in to both sides and list the source folders; no data.
//   - trial: the whole folder tree, plus at most TrialItemsPerFolder (10)
//     items per folder and TrialMaxBytes (5 MB) in total.
//   - prestage: items whose INTERNALDATE is before PassOptions.PrestageBefore
//     (default: now minus the project's PrestageDays, 90 if unset).
//   - full: everything not yet done (the delta pass).
//   - retry: only the items currently recorded as failed (an item leaves
//     the failed set when a later pass writes it), i.e. those that failed
//     in the last pass that tried them.
//
// Every pass writes the folder tree (mapping.Plan: rules, filter,
// sanitising, collisions) and counts items it writes as done; a done item is
// never sent again, whatever the pass. The project's DateFrom/DateTo bound
// every pass.
//
// # Exactly once
//
// For each folder the engine lists metadata only (UID, flags, size, date,
// the four content-key headers), loads the folder's journal in one read
// transaction, and drops the keys already done. Only if something is left
// does it ask the destination what it holds (Destination.Existing, content
// key → count, once per folder per run) and drops as many messages per
// content key as the destination holds beyond what the journal accounts
// for — so after the local database is lost a rerun creates no duplicates,
// and a no-op pass never fetches a body. When a folder's UIDVALIDITY has
// changed, the journal's content keys stand in for the old UID keys.
//
// The whole destination folder tree is created first; then
// Limits.Concurrency folders are migrated at a time, largest first (servers
// serialise appends into one folder, so parallelism comes from writing
// several folders). In each folder the rest is fetched (streamed by the
// source in bounded chunks), cut into batches by the destination's Limits
// (BatchSize, BatchBytes) and written while the next batch is fetched. A
// per-user byte budget (6×BatchBytes of bodies) bounds what all folders
// hold at once, so memory stays flat however large the mailbox (a single
// message larger than the budget goes through alone). Each batch's outcome (done keys with destination ids, failed
// items) is committed to the journal in one transaction right after its Put
// returns: a kill -9 redoes at most the batches in flight, and destination
// dedup catches even those on the next pass.
//
// # Flags of items already migrated
//
// The journal records, with each done item, the source flags it was
// migrated with (store.FlagSet: a bitmask of \Seen \Answered \Flagged
// \Draft plus keywords). Every pass that lists a folder compares the
// listed flags of its done messages with that record — no extra source or
// destination round trip. When they differ, the destination implements
// mailbox.FlagUpdater and the journal has the message's destination id,
// the new flag set is sent (UpdateFlags, 1000 per call, retried with
// back-off like the other destination operations: setting flags is
// idempotent) and recorded right after the destination answers, counted
// as ItemsUpdated (UserSummary, PassRecord). A no-op pass with no changed
// flags sends nothing. Updates the destination cannot apply (stale id,
// refusal) keep their old record and are tried again by the next pass.
// Destinations without FlagUpdater, and items done without a destination
// id (dedup after a lost database, UIDVALIDITY fallback, servers without
// UIDPLUS), keep the flags they were written with. Done items journaled
// before flags were recorded (older MailFerry) have no record: the first
// pass that lists them records their current flags without an update
// (their destination flags are unknown), and changes from then on follow.
//
// # Errors
//
// Connection failures (imapconn.ErrConnection, network errors) are retried
// with exponential back-off and jitter (Options.Retry) by decorators around
// the source and destination; a retried Put first asks the destination what
// the failed attempt already wrote and sends only the rest. A refused login
// (ErrAuth), a security failure, or a connection that stays down fails
// only that user. Per-item errors — larger than the maximum item size
// (the user's MaxItemSizeMB support option, else the project's
// MaxItemSizeMB, and never above the destination's Limits.MaxItemSize),
// refused by the server, malformed — are recorded with folder, subject,
// date, size, reason and hint and never stop the other items.
package engine
