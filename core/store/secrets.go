package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"go.etcd.io/bbolt"
)

// SetSecret seals plaintext and stores it under a new random ref (128-bit
// hex), which the caller keeps in a project or user instead of the secret.
func (s *Store) SetSecret(plaintext []byte) (string, error) {
	var ref string
	err := update(s.db, func(tx *bbolt.Tx) error {
		var err error
		ref, err = s.putSecret(tx, plaintext)
		return err
	})
	return ref, err
}

// SetSecrets is SetSecret for many secrets in one transaction: one disk
// sync for all of them, where SetSecret syncs once per secret (importing
// 1,000 users with two passwords each took seconds that way). refs[i] is
// the ref of plaintexts[i]; on error nothing is stored.
func (s *Store) SetSecrets(plaintexts [][]byte) ([]string, error) {
	refs := make([]string, len(plaintexts))
	err := update(s.db, func(tx *bbolt.Tx) error {
		for i, pt := range plaintexts {
			var err error
			if refs[i], err = s.putSecret(tx, pt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return refs, nil
}

// Secret opens the secret stored under ref.
func (s *Store) Secret(ref string) ([]byte, error) {
	var sealed []byte
	err := view(s.db, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketSecrets).Get([]byte(ref))
		if v == nil || ref == "" {
			return fmt.Errorf("secret %q: %w", ref, ErrNotFound)
		}
		sealed = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pt, err := s.sealer.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", ref, err)
	}
	return pt, nil
}

// DeleteSecret deletes the secret stored under ref (ErrNotFound if none).
func (s *Store) DeleteSecret(ref string) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		if ref == "" || b.Get([]byte(ref)) == nil {
			return fmt.Errorf("secret %q: %w", ref, ErrNotFound)
		}
		if err := b.Delete([]byte(ref)); err != nil {
			return fmt.Errorf("deleting secret: %w", err)
		}
		return nil
	})
}

func (s *Store) putSecret(tx *bbolt.Tx, plaintext []byte) (string, error) {
	sealed, err := s.sealer.Seal(plaintext)
	if err != nil {
		return "", fmt.Errorf("sealing secret: %w", err)
	}
	b := tx.Bucket(bucketSecrets)
	var raw [16]byte
	for {
		if _, err := rand.Read(raw[:]); err != nil {
			return "", fmt.Errorf("making secret ref: %w", err)
		}
		if b.Get([]byte(hex.EncodeToString(raw[:]))) == nil {
			break
		}
	}
	ref := hex.EncodeToString(raw[:])
	if err := b.Put([]byte(ref), sealed); err != nil {
		return "", fmt.Errorf("storing secret: %w", err)
	}
	return ref, nil
}
