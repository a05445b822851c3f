package store

// Per-mailbox download count of one UTC day (Gmail's daily limit), inside
// the user's journal bucket:
//
//	journal/<user id>/daily   "YYYY-MM-DD" → 8-byte big-endian bytes
//
// Only the current day is kept: recording a day drops the others.

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

var bucketDaily = []byte("daily")

// DailyBytes returns what was downloaded from the user's source mailbox on
// day (format "2006-01-02", UTC); 0 if nothing was recorded.
func (j *Journal) DailyBytes(proj, user, day string) (int64, error) {
	var n int64
	err := view(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, false)
		if err != nil || ub == nil || ub.Bucket(bucketDaily) == nil {
			return err
		}
		if v := ub.Bucket(bucketDaily).Get([]byte(day)); len(v) == 8 {
			n = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: daily download of %s/%s: %w", proj, user, err)
	}
	return n, nil
}

// SetDailyBytes records the day's total download of the user's source
// mailbox and forgets the other days.
func (j *Journal) SetDailyBytes(proj, user, day string, n int64) error {
	err := update(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, true)
		if err != nil {
			return err
		}
		if ub.Bucket(bucketDaily) != nil {
			if err := ub.DeleteBucket(bucketDaily); err != nil {
				return err
			}
		}
		db, err := ub.CreateBucket(bucketDaily)
		if err != nil {
			return err
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(n))
		return db.Put([]byte(day), v[:])
	})
	if err != nil {
		return fmt.Errorf("journal: record daily download of %s/%s: %w", proj, user, err)
	}
	return nil
}
