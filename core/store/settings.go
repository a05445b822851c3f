package store

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// Setting returns the value of an application setting; a setting never set
// is "" with a nil error.
func (s *Store) Setting(key string) (string, error) {
	var v string
	err := view(s.db, func(tx *bbolt.Tx) error {
		v = string(tx.Bucket(bucketSettings).Get([]byte(key)))
		return nil
	})
	return v, err
}

// SetSetting stores an application setting; an empty value deletes it.
// Settings are not for secrets (use SetSecret).
func (s *Store) SetSetting(key, value string) error {
	if key == "" {
		return errors.New("setting: empty key")
	}
	return update(s.db, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		var err error
		if value == "" {
			err = b.Delete([]byte(key))
		} else {
			err = b.Put([]byte(key), []byte(value))
		}
		if err != nil {
			return fmt.Errorf("setting %q: %w", key, err)
		}
		return nil
	})
}
