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
// re-labelled as another version. Later sealers (OS keychain) add new
// prefixes; Open refuses prefixes it does not know with a clear error.
package secret
