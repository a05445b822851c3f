package store

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

var bucketLive = []byte("live")

// Live is a running user's progress as the engine last saved it (every
// few seconds and at each phase change), so that another process — `mailferry
// status` next to a running migrate or GUI — can show what a pass is doing.
// The engine deletes it when the user's pass ends; a record whose user is
// no longer Running is left over from a process that was killed.
type Live struct {
	Pass         string    `json:"pass"`
	Phase        string    `json:"phase"`
	Folder       string    `json:"folder,omitempty"`
	FoldersDone  int       `json:"folders_done"`
	FoldersTotal int       `json:"folders_total"`
	ItemsDone    int64     `json:"items_done"`
	ItemsTotal   int64     `json:"items_total"`
	ItemsFailed  int64     `json:"items_failed"`
	Bytes        int64     `json:"bytes"`
	ETA          float64   `json:"eta_seconds,omitempty"` // 0: not known yet
	At           time.Time `json:"at"`
}

// SetLive saves user's live progress in projectName; nil deletes it.
func (s *Store) SetLive(projectName, user string, l *Live) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, projectName)
		if pb == nil {
			return fmt.Errorf("project %q: %w", projectName, ErrNotFound)
		}
		if l == nil {
			if b := pb.Bucket(bucketLive); b != nil {
				return b.Delete([]byte(user))
			}
			return nil
		}
		b, err := pb.CreateBucketIfNotExists(bucketLive)
		if err != nil {
			return fmt.Errorf("project %q: live progress: %w", projectName, err)
		}
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		return b.Put([]byte(user), v)
	})
}

// Live returns the saved live progress of projectName's users, by user id.
func (s *Store) Live(projectName string) (map[string]Live, error) {
	out := map[string]Live{}
	err := view(s.db, func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, projectName)
		if pb == nil {
			return fmt.Errorf("project %q: %w", projectName, ErrNotFound)
		}
		b := pb.Bucket(bucketLive)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var l Live
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("project %q: live progress of %s: %w", projectName, k, err)
			}
			out[string(k)] = l
			return nil
		})
	})
	return out, err
}
