// Package store keeps MailFerry's projects, users, sealed secrets and
// settings in one bbolt file (by default <UserConfigDir>/MailFerry/mailferry.db,
// or $MAILFERRY_DB).
//
// Layout of the file:
//
//	meta                      magic "mailferry", schema version
//	settings                  key → value
//	secrets                   ref (random 128-bit hex) → sealed bytes
//	proj/<name>               one bucket per project
//	    project               JSON of project.Project
//	    users/                User.ID() → JSON of project.User
//	    ...                   nested buckets of sibling packages (the engine's
//	                          journal); renamed and deleted with the project
//
// Every mutation runs in one bbolt read-write transaction, so it is atomic.
// Passwords never reach the file in clear: callers store them with SetSecret
// (sealed by a secret.Sealer, by default a key file next to the database) and
// keep only the returned ref. A secret that no project or user references any
// more after an update, a user deletion or a project deletion is deleted in
// the same transaction.
//
// Sibling packages that keep their own data per project use Bolt and
// ProjectBucket inside their own transactions.
package store
