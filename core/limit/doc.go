// Package limit bounds how many requests run at once against one server
// budget (an EWS account, a Graph app and mailbox) and holds every worker
// of that budget back while the server has asked for a pause.
//
// A Limiter is a weighted semaphore whose size adapts AIMD-style: it is
// halved when the server pushes back (once per burst, since requests
// already in flight report the same push-back) and grows by one per
// request that went through, up to its maximum. Hold sets a shared "not
// before" time: when one request is told to wait (HTTP 429/503
// Retry-After, EWS ErrorServerBusy BackOffMilliseconds), every later
// Acquire for the same budget waits until then, instead of sending more
// requests into the throttle window.
//
// Shared returns the one Limiter of a key, so that every Destination of
// the same budget in the process shares it. The retry loop (core/retry)
// acquires and releases around each try; code outside that loop (upload
// sessions) may call Acquire and Release itself.
package limit
