// Package awake keeps the computer from going to sleep while a migration
// pass runs: Hold takes the operating system's "busy, do not sleep"
// assertion and its release gives it back. The display may still turn
// off; only idle system sleep is held off.
//
//   - Windows: SetThreadExecutionState(ES_CONTINUOUS|ES_SYSTEM_REQUIRED)
//     from a goroutine locked to its OS thread (the state belongs to the
//     thread that set it), cleared by the same thread on release.
//   - macOS: a `caffeinate -i -w <our pid>` child (the system's own tool
//     for an IOPMAssertion of type PreventUserIdleSystemSleep; -w ends it
//     if MailFerry dies), killed on release.
//   - Linux: a `systemd-inhibit --what=idle:sleep --mode=block cat` child
//     reading a pipe from us, when systemd-inhibit exists and a session bus
//     answers; release (or MailFerry's death) closes the pipe, cat ends
//     and logind drops the inhibitor.
//   - Elsewhere, or when the tool is missing or refuses: nothing is held;
//     the reason is logged once at Info, and the pass runs anyway.
//
// The engine calls Hold as the first pass starts and releases it when the
// last one ends (engine.Options.KeepAwake); both faces turn it on.
// Hand-written because no maintained Go library wraps these three
// mechanisms; each is a few lines over x/sys or os/exec.
package awake
