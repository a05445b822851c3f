// Package exchange holds what the EWS and Graph destinations share about
// an Exchange mailbox, whichever protocol writes to it: the well-known
// folders a source role maps to, the folder tree as far as it is known,
// the PR_MESSAGE_FLAGS value a created message gets, and the Step of an
// endpoint test report.
package exchange
