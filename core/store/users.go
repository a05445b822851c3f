package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
)

// PutUsers inserts or replaces users of a project, keyed by User.ID(), in
// one transaction: if any user is invalid nothing is written. An empty
// Status becomes project.StatusNotSubmitted. Secrets a replaced user
// referenced and nothing references any more are deleted.
func (s *Store) PutUsers(projectName string, users []project.User) error {
	seen := make(map[string]bool, len(users))
	for i := range users {
		u := &users[i]
		if err := u.Validate(); err != nil {
			return fmt.Errorf("project %q: user %d (%s): %w", projectName, i+1, u.SourceEmail, err)
		}
		if seen[u.ID()] {
			return fmt.Errorf("project %q: user %s appears twice: %w", projectName, u.ID(), ErrExists)
		}
		seen[u.ID()] = true
	}
	return update(s.db, func(tx *bbolt.Tx) error {
		ub, err := usersBucket(tx, projectName)
		if err != nil {
			return err
		}
		var orphans []string
		for _, u := range users {
			if u.Status == "" {
				u.Status = project.StatusNotSubmitted
			}
			if v := ub.Get([]byte(u.ID())); v != nil {
				var old project.User
				if err := json.Unmarshal(v, &old); err == nil {
					orphans = append(orphans, minus(userRefs(old), userRefs(u))...)
				}
			}
			if err := putUser(ub, u); err != nil {
				return fmt.Errorf("project %q: %w", projectName, err)
			}
		}
		return dropOrphans(tx, orphans)
	})
}

// Users returns the project's users sorted by ID.
func (s *Store) Users(projectName string) ([]project.User, error) {
	var us []project.User
	err := view(s.db, func(tx *bbolt.Tx) error {
		ub, err := usersBucket(tx, projectName)
		if err != nil {
			return err
		}
		if ub == nil {
			return nil
		}
		us = make([]project.User, 0, ub.Stats().KeyN)
		return ub.ForEach(func(k, v []byte) error {
			var u project.User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("project %q: user %q: decoding: %w", projectName, k, err)
			}
			us = append(us, u)
			return nil
		})
	})
	return us, err
}

// User returns one user by ID (the source email, compared case-insensitively).
func (s *Store) User(projectName, id string) (project.User, error) {
	var u project.User
	err := view(s.db, func(tx *bbolt.Tx) error {
		ub, err := usersBucket(tx, projectName)
		if err != nil {
			return err
		}
		u, err = getUser(ub, projectName, id)
		return err
	})
	return u, err
}

// UpdateUser loads a user, lets fn change it and stores it atomically
// after validating it. If fn changes the source email the user is re-keyed
// (ErrExists if the new ID is taken). If fn returns an error nothing is
// written.
func (s *Store) UpdateUser(projectName, id string, fn func(*project.User) error) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		ub, err := usersBucket(tx, projectName)
		if err != nil {
			return err
		}
		old, err := getUser(ub, projectName, id)
		if err != nil {
			return err
		}
		u := old
		u.SupportOptions = append([]string(nil), old.SupportOptions...)
		if err := fn(&u); err != nil {
			return err
		}
		if err := u.Validate(); err != nil {
			return fmt.Errorf("project %q: user %s: %w", projectName, old.ID(), err)
		}
		if u.ID() != old.ID() {
			if ub.Get([]byte(u.ID())) != nil {
				return fmt.Errorf("project %q: user %s: %w", projectName, u.ID(), ErrExists)
			}
			if err := ub.Delete([]byte(old.ID())); err != nil {
				return fmt.Errorf("project %q: user %s: %w", projectName, old.ID(), err)
			}
		}
		if err := putUser(ub, u); err != nil {
			return fmt.Errorf("project %q: %w", projectName, err)
		}
		return dropOrphans(tx, minus(userRefs(old), userRefs(u)))
	})
}

// DeleteUsers deletes users by ID with their secrets, all or nothing: an
// unknown ID is ErrNotFound and nothing is deleted.
func (s *Store) DeleteUsers(projectName string, ids []string) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		ub, err := usersBucket(tx, projectName)
		if err != nil {
			return err
		}
		var refs []string
		for _, id := range ids {
			u, err := getUser(ub, projectName, id)
			if err != nil {
				return err
			}
			refs = append(refs, userRefs(u)...)
			if err := ub.Delete([]byte(u.ID())); err != nil {
				return fmt.Errorf("project %q: deleting user %s: %w", projectName, u.ID(), err)
			}
		}
		return dropOrphans(tx, refs)
	})
}

func usersBucket(tx *bbolt.Tx, projectName string) (*bbolt.Bucket, error) {
	b := ProjectBucket(tx, projectName)
	if b == nil {
		return nil, fmt.Errorf("project %q: %w", projectName, ErrNotFound)
	}
	ub := b.Bucket(bucketUsers)
	if ub == nil {
		if !tx.Writable() {
			return nil, nil // no users yet; readers treat nil as empty
		}
		var err error
		if ub, err = b.CreateBucket(bucketUsers); err != nil {
			return nil, fmt.Errorf("project %q: %w", projectName, err)
		}
	}
	return ub, nil
}

func getUser(ub *bbolt.Bucket, projectName, id string) (project.User, error) {
	var u project.User
	key := strings.ToLower(strings.TrimSpace(id))
	var v []byte
	if ub != nil && key != "" {
		v = ub.Get([]byte(key))
	}
	if v == nil {
		return u, fmt.Errorf("project %q: user %q: %w", projectName, id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return u, fmt.Errorf("project %q: user %q: decoding: %w", projectName, id, err)
	}
	return u, nil
}

func putUser(ub *bbolt.Bucket, u project.User) error {
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("user %s: encoding: %w", u.ID(), err)
	}
	if err := ub.Put([]byte(u.ID()), data); err != nil {
		return fmt.Errorf("user %s: %w", u.ID(), err)
	}
	return nil
}
