// Package secret seals small secrets (passwords, client secrets) before they
// are written to disk. A Sealer turns plaintext into an opaque, authenticated
// blob and back. FileSealer is the key-file implementation: AES-256-GCM with
// a random 32-byte key kept in a file readable only by its owner (mode 0600).
//
// Sealed format (version 1):
//
//	"MFS1" | 12-byte random nonce | AES-GCM ciphertext and 16-byte tag
//
// The 4-byte prefix is also the GCM additional data, so a blob cannot be
// re-labelled as another version. Open refuses prefixes it does not know
// with a clear error.
//
// KeychainSealer uses the same format with the 32-byte data key kept in the
// OS keychain (github.com/zalando/go-keyring; service "MailFerry", account
// "db:" + the database directory). Default picks the keychain when a quick
// probe shows it works and falls back to the key file otherwise (headless
// Linux without a D-Bus session bus falls back at once); it moves an
// existing key file into the keychain with the same key bytes, deleting the
// file only after the keychain read-back matches, and leaves a marker file
// (mailferry.keychain, no secret in it) so that a later run without the
// keychain refuses to invent a new key instead of orphaning saved secrets.
package secret
