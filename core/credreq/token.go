package credreq

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// bucketName is credreq's top-level bucket in the store file.
var bucketName = []byte("credreq")

// tokenBytes is the token's entropy.
const tokenBytes = 32

// record is what the store keeps about one token (never the token).
type record struct {
	Hash    string      `json:"hash"` // hex SHA-256 of the token (also the key)
	Project string      `json:"project"`
	User    string      `json:"user"`           // User.ID()
	Base    string      `json:"base,omitempty"` // the link's base URL (server address)
	Issued  time.Time   `json:"issued"`
	Expires time.Time   `json:"expires"`
	Used    time.Time   `json:"used,omitempty"`
	Fails   []time.Time `json:"fails,omitempty"` // failed attempts, oldest first
	// What happened to the link (LinkStatuses): emailed (the SMTP server
	// accepted it), first opened, last submitted (any outcome).
	Sent      time.Time `json:"sent,omitempty"`
	Opened    time.Time `json:"opened,omitempty"`
	Submitted time.Time `json:"submitted,omitempty"`
}

// id is the short token id used in logs.
func (r record) id() string { return r.Hash[:8] }

// newToken returns a fresh token and its hash.
func newToken() (token, hash string, err error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("making token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validTokenSyntax reports whether s can be a token at all.
func validTokenSyntax(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

var errNoToken = errors.New("no such token")

// load finds the record of token, comparing hashes in constant time.
func load(db *bbolt.DB, token string) (record, error) {
	var rec record
	if !validTokenSyntax(token) {
		return rec, errNoToken
	}
	h := hashToken(token)
	err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketName)
		if b == nil {
			return errNoToken
		}
		v := b.Get([]byte(h))
		if v == nil {
			return errNoToken
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("credreq record: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(h)) != 1 {
			return errNoToken
		}
		return nil
	})
	return rec, err
}

// update changes the record of hash atomically.
func update(db *bbolt.DB, hash string, fn func(*record) error) error {
	return db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketName)
		if b == nil {
			return errNoToken
		}
		v := b.Get([]byte(hash))
		if v == nil {
			return errNoToken
		}
		var rec record
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("credreq record: %w", err)
		}
		if err := fn(&rec); err != nil {
			return err
		}
		return put(b, rec)
	})
}

func put(b *bbolt.Bucket, rec record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("credreq record: %w", err)
	}
	return b.Put([]byte(rec.Hash), data)
}

// insert stores rec, voiding every other token of the same user and
// dropping records that expired more than a week ago.
func insert(db *bbolt.DB, rec record, now time.Time) error {
	return db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketName)
		if err != nil {
			return fmt.Errorf("credreq bucket: %w", err)
		}
		var drop [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var old record
			if json.Unmarshal(v, &old) != nil ||
				(old.Project == rec.Project && old.User == rec.User) ||
				now.Sub(old.Expires) > 7*24*time.Hour {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("credreq: %w", err)
			}
		}
		return put(b, rec)
	})
}

// recentFails returns the failures within window before now.
func recentFails(fails []time.Time, now time.Time, window time.Duration) []time.Time {
	var out []time.Time
	for _, f := range fails {
		if now.Sub(f) < window {
			out = append(out, f)
		}
	}
	return out
}

// userRecords returns the records of one user of a project.
func userRecords(db *bbolt.DB, projectName, userID string) ([]record, error) {
	var out []record
	err := db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketName)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) == nil && r.Project == projectName && r.User == userID {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}
