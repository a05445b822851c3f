// Package retry is the one retry loop of MailFerry: the EWS and Graph
// destinations wrap every request in it, and the engine wraps every
// source and destination operation in it (restic's internal/backend/retry
// is the model: a decorator, not retry code sprinkled through callers).
//
// What is retried, and whether the server pushed back, is protocol
// knowledge: each caller gives a Classify function. How to wait is the
// same for everyone and lives here:
//
//   - a jittered exponential back-off (Policy.Backoff): step Base·2ⁿ⁻¹,
//     capped at Max, and a delay uniformly between half the step and the
//     step, so that workers that failed together do not return together;
//   - a server-given wait (HTTP Retry-After, EWS BackOffMilliseconds) is
//     obeyed instead, capped at MaxBackOff; when the try ran under a
//     core/limit Limiter, the wait is also set as the limiter's hold, so
//     every worker of the same budget waits, not only the one told;
//   - a try after which Progressed reports true starts the count of
//     attempts over (a long transfer over a connection that drops every
//     few MB goes on while each connection moves something);
//   - cancelling the context ends the loop at once with the context's
//     error.
package retry
