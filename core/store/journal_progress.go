package store

import (
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
)

// UserProgress is what a status view needs of one user's journal, read
// without loading it whole: how many passes, the last one, and how many
// items are currently failed.
type UserProgress struct {
	Passes   int
	LastPass PassRecord // zero when Passes == 0
	Failed   int        // currently failed items
}

// Progress returns the UserProgress of every user that has a journal in
// proj, by user id, in one read transaction. Only the last pass record of
// each user is decoded; failed items and older passes are counted, not
// decoded, so a long history or many failures cost little.
func (j *Journal) Progress(proj string) (map[string]UserProgress, error) {
	out := map[string]UserProgress{}
	err := view(j.db, func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, proj)
		if pb == nil {
			return fmt.Errorf("project %q: %w", proj, ErrNotFound)
		}
		jb := pb.Bucket(bucketJournal)
		if jb == nil {
			return nil
		}
		return jb.ForEachBucket(func(k []byte) error {
			p, err := userProgress(jb.Bucket(k))
			if err != nil {
				return fmt.Errorf("user %s: %w", k, err)
			}
			out[string(k)] = p
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: progress of %s: %w", proj, err)
	}
	return out, nil
}

// FailedCount counts a user's currently failed items without decoding
// them (FailedItems has the details).
func (j *Journal) FailedCount(proj, user string) (int, error) {
	n := 0
	err := j.forEachFolder(proj, user, func(_ string, b *bbolt.Bucket) error {
		n += countKeys(b.Bucket(bucketFailed))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: failed items of %s/%s: %w", proj, user, err)
	}
	return n, nil
}

// userProgress reads one user's journal bucket.
func userProgress(ub *bbolt.Bucket) (UserProgress, error) {
	var p UserProgress
	if ub == nil {
		return p, nil
	}
	if pb := ub.Bucket(bucketPasses); pb != nil {
		p.Passes = countKeys(pb)
		if _, v := pb.Cursor().Last(); v != nil {
			if err := json.Unmarshal(v, &p.LastPass); err != nil {
				return p, fmt.Errorf("last pass: %w", err)
			}
		}
	}
	if fb := ub.Bucket(bucketFolders); fb != nil {
		err := fb.ForEachBucket(func(k []byte) error {
			p.Failed += countKeys(fb.Bucket(k).Bucket(bucketFailed))
			return nil
		})
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// countKeys counts the keys of b (nil: 0) with a cursor, values unread.
func countKeys(b *bbolt.Bucket) int {
	if b == nil {
		return 0
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}
