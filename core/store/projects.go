package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
)

// CreateProject stores a new project. A zero Created is set to now and
// all-zero Options become project.DefaultOptions(). The project is validated
// first; a name already used (compared case-insensitively) is ErrExists.
func (s *Store) CreateProject(p project.Project) error {
	if p.Created.IsZero() {
		p.Created = time.Now().UTC().Truncate(time.Second)
	}
	if reflect.ValueOf(p.Options).IsZero() {
		p.Options = project.DefaultOptions()
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, err)
	}
	return update(s.db, func(tx *bbolt.Tx) error {
		if other := findProjectFold(tx, p.Name, ""); other != "" {
			return fmt.Errorf("project %q: %w (as %q)", p.Name, ErrExists, other)
		}
		b, err := tx.CreateBucket(projectKey(p.Name))
		if err != nil {
			return fmt.Errorf("creating project %q: %w", p.Name, err)
		}
		if _, err := b.CreateBucket(bucketUsers); err != nil {
			return fmt.Errorf("creating project %q: %w", p.Name, err)
		}
		return putProject(b, p)
	})
}

// Project returns the project called name (exact match).
func (s *Store) Project(name string) (project.Project, error) {
	var p project.Project
	err := view(s.db, func(tx *bbolt.Tx) error {
		var err error
		p, _, err = getProject(tx, name)
		return err
	})
	return p, err
}

// Projects returns every project, sorted by name (case-insensitively).
func (s *Store) Projects() ([]project.Project, error) {
	var ps []project.Project
	err := view(s.db, func(tx *bbolt.Tx) error {
		c := tx.Cursor()
		for k, _ := c.Seek(projPrefix); k != nil && bytes.HasPrefix(k, projPrefix); k, _ = c.Next() {
			p, _, err := getProject(tx, string(k[len(projPrefix):]))
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		return nil
	})
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := strings.ToLower(ps[i].Name), strings.ToLower(ps[j].Name)
		if a != b {
			return a < b
		}
		return ps[i].Name < ps[j].Name
	})
	return ps, err
}

// UpdateProject loads the project, lets fn change it and stores the result
// atomically after validating it. If fn returns an error nothing is
// written. fn must not change the name (use RenameProject). Secrets that
// the project referenced before and nothing references after are deleted.
func (s *Store) UpdateProject(name string, fn func(*project.Project) error) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		old, b, err := getProject(tx, name)
		if err != nil {
			return err
		}
		p := old
		if err := fn(&p); err != nil {
			return err
		}
		if p.Name != old.Name {
			return fmt.Errorf("project %q: the name cannot change in an update (use RenameProject)", name)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("project %q: %w", name, err)
		}
		if err := putProject(b, p); err != nil {
			return err
		}
		return dropOrphans(tx, minus(projectRefs(old), projectRefs(p)))
	})
}

// RenameProject gives a project a new name, moving its users and every
// nested bucket of sibling packages with it.
func (s *Store) RenameProject(oldName, newName string) error {
	if err := project.ValidateName(newName); err != nil {
		return fmt.Errorf("renaming project %q: %w", oldName, err)
	}
	if oldName == newName {
		_, err := s.Project(oldName)
		return err
	}
	return update(s.db, func(tx *bbolt.Tx) error {
		p, src, err := getProject(tx, oldName)
		if err != nil {
			return err
		}
		if other := findProjectFold(tx, newName, oldName); other != "" {
			return fmt.Errorf("renaming project %q to %q: %w (as %q)", oldName, newName, ErrExists, other)
		}
		dst, err := tx.CreateBucket(projectKey(newName))
		if err != nil {
			return fmt.Errorf("renaming project %q to %q: %w", oldName, newName, err)
		}
		if err := copyBucket(dst, src); err != nil {
			return fmt.Errorf("renaming project %q to %q: %w", oldName, newName, err)
		}
		p.Name = newName
		if err := putProject(dst, p); err != nil {
			return err
		}
		if err := tx.DeleteBucket(projectKey(oldName)); err != nil {
			return fmt.Errorf("renaming project %q to %q: %w", oldName, newName, err)
		}
		return nil
	})
}

// DeleteProject deletes the project with its users, every nested bucket
// of sibling packages (checkpoints, errors, stats) and the secrets its
// endpoints and users referenced.
func (s *Store) DeleteProject(name string) error {
	return update(s.db, func(tx *bbolt.Tx) error {
		p, b, err := getProject(tx, name)
		if err != nil {
			return err
		}
		refs := projectRefs(p)
		if ub := b.Bucket(bucketUsers); ub != nil {
			err := ub.ForEach(func(k, v []byte) error {
				var u project.User
				if err := json.Unmarshal(v, &u); err != nil {
					return fmt.Errorf("project %q: user %q: %w", name, k, err)
				}
				refs = append(refs, userRefs(u)...)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(projectKey(name)); err != nil {
			return fmt.Errorf("deleting project %q: %w", name, err)
		}
		return dropOrphans(tx, refs)
	})
}

func getProject(tx *bbolt.Tx, name string) (project.Project, *bbolt.Bucket, error) {
	var p project.Project
	b := ProjectBucket(tx, name)
	if b == nil {
		return p, nil, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	v := b.Get(keyProject)
	if v == nil {
		return p, nil, fmt.Errorf("project %q: record missing: %w", name, ErrNotFound)
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return p, nil, fmt.Errorf("project %q: decoding: %w", name, err)
	}
	return p, b, nil
}

func putProject(b *bbolt.Bucket, p project.Project) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("project %q: encoding: %w", p.Name, err)
	}
	if err := b.Put(keyProject, data); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, err)
	}
	return nil
}

// findProjectFold returns the name of a project whose name equals name
// case-insensitively, other than except, or "".
func findProjectFold(tx *bbolt.Tx, name, except string) string {
	c := tx.Cursor()
	for k, _ := c.Seek(projPrefix); k != nil && bytes.HasPrefix(k, projPrefix); k, _ = c.Next() {
		n := string(k[len(projPrefix):])
		if n != except && strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

// copyBucket copies every key, nested bucket and sequence of src into dst.
func copyBucket(dst, src *bbolt.Bucket) error {
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			nd, err := dst.CreateBucket(bytes.Clone(k))
			if err != nil {
				return fmt.Errorf("bucket %q: %w", k, err)
			}
			return copyBucket(nd, src.Bucket(k))
		}
		return dst.Put(bytes.Clone(k), bytes.Clone(v))
	})
}

// projectRefs lists the secret refs a project's endpoints hold.
func projectRefs(p project.Project) []string {
	return nonEmpty(p.Source.PasswordRef, p.Source.SecretRef, p.Dest.PasswordRef, p.Dest.SecretRef, p.SMTP.PasswordRef)
}

// userRefs lists the secret refs a user holds.
func userRefs(u project.User) []string {
	return nonEmpty(u.SourcePasswordRef, u.DestPasswordRef)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// minus returns the elements of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// dropOrphans deletes the candidate secrets that no project or user in the
// database still references. It scans only when there are candidates; a
// ref is random 128-bit hex, so a byte search of the JSON records cannot
// match by accident (and a false match would only keep a secret).
func dropOrphans(tx *bbolt.Tx, candidates []string) error {
	if len(candidates) == 0 {
		return nil
	}
	left := map[string]bool{}
	for _, r := range candidates {
		left[r] = true
	}
	drop := func(v []byte) {
		for r := range left {
			if bytes.Contains(v, []byte(r)) {
				delete(left, r)
			}
		}
	}
	c := tx.Cursor()
	for k, _ := c.Seek(projPrefix); k != nil && bytes.HasPrefix(k, projPrefix) && len(left) > 0; k, _ = c.Next() {
		b := tx.Bucket(k)
		drop(b.Get(keyProject))
		if ub := b.Bucket(bucketUsers); ub != nil {
			_ = ub.ForEach(func(_, v []byte) error {
				if len(left) == 0 {
					return errStop
				}
				drop(v)
				return nil
			})
		}
	}
	sb := tx.Bucket(bucketSecrets)
	for r := range left {
		if err := sb.Delete([]byte(r)); err != nil {
			return fmt.Errorf("deleting secret: %w", err)
		}
	}
	return nil
}

var errStop = errors.New("stop")
