package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
)

// ExportFormat and ExportVersion identify a project export document.
const (
	ExportFormat  = "mailferry-project"
	ExportVersion = 1
)

// exportDoc is the JSON document ExportProject writes.
type exportDoc struct {
	Format   string          `json:"format"`
	Version  int             `json:"version"`
	Exported time.Time       `json:"exported"`
	Project  project.Project `json:"project"`
	Users    []project.User  `json:"users"`
	// Secrets maps the refs used in Project and Users to the plaintext
	// secrets (base64 in JSON). Present only in exports made with secrets.
	Secrets map[string][]byte `json:"secrets,omitempty"`
	Note    string            `json:"note,omitempty"`
}

const secretsNote = "This file contains the passwords of the project in clear (base64). Keep it safe and delete it after use."

// ExportProject returns the project and its users as a JSON document
// {"format":"mailferry-project","version":1,"project":…,"users":[…]}.
// Without withSecrets every secret ref is blanked, so the file holds no
// credentials. With withSecrets the plaintext secrets are included under
// "secrets" — NOT encrypted yet: protecting them with a passphrase is a
// later issue.
func (s *Store) ExportProject(name string, withSecrets bool) ([]byte, error) {
	doc := exportDoc{Format: ExportFormat, Version: ExportVersion, Exported: time.Now().UTC().Truncate(time.Second)}
	sealed := map[string][]byte{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		p, b, err := getProject(tx, name)
		if err != nil {
			return err
		}
		doc.Project = p
		doc.Users = []project.User{}
		if ub := b.Bucket(bucketUsers); ub != nil {
			err := ub.ForEach(func(k, v []byte) error {
				var u project.User
				if err := json.Unmarshal(v, &u); err != nil {
					return fmt.Errorf("project %q: user %q: decoding: %w", name, k, err)
				}
				doc.Users = append(doc.Users, u)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if withSecrets {
			sb := tx.Bucket(bucketSecrets)
			refs := projectRefs(p)
			for _, u := range doc.Users {
				refs = append(refs, userRefs(u)...)
			}
			for _, r := range refs {
				if v := sb.Get([]byte(r)); v != nil {
					sealed[r] = bytes.Clone(v)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if withSecrets {
		doc.Secrets = make(map[string][]byte, len(sealed))
		for r, v := range sealed {
			pt, err := s.sealer.Open(v)
			if err != nil {
				return nil, fmt.Errorf("exporting project %q: secret %s: %w", name, r, err)
			}
			doc.Secrets[r] = pt
		}
		doc.Note = secretsNote
	}
	// Refs without a secret (dangling, or all refs when exporting without
	// secrets) are blanked.
	keep := func(ref *string) {
		if _, ok := doc.Secrets[*ref]; !ok {
			*ref = ""
		}
	}
	forEachRef(&doc.Project, doc.Users, keep)
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("exporting project %q: %w", name, err)
	}
	return append(out, '\n'), nil
}

// ImportProject stores a project exported by ExportProject under its
// exported name (ErrExists if that name is taken). Secrets in the document
// are sealed again under new refs; refs without a secret are blanked.
func (s *Store) ImportProject(data []byte) (project.Project, error) {
	var doc exportDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return project.Project{}, fmt.Errorf("importing project: not a MailFerry project file: %w", err)
	}
	if doc.Format != ExportFormat {
		return project.Project{}, fmt.Errorf("importing project: format %q is not %q", doc.Format, ExportFormat)
	}
	if doc.Version < 1 || doc.Version > ExportVersion {
		return project.Project{}, fmt.Errorf("importing project: file version %d is not supported (this MailFerry reads up to %d)", doc.Version, ExportVersion)
	}
	p := doc.Project
	if err := p.Validate(); err != nil {
		return project.Project{}, fmt.Errorf("importing project %q: %w", p.Name, err)
	}
	seen := map[string]int{}
	for i, u := range doc.Users {
		if err := u.Validate(); err != nil {
			return project.Project{}, fmt.Errorf("importing project %q: user %d (%s): %w", p.Name, i+1, u.SourceEmail, err)
		}
		if j, dup := seen[u.ID()]; dup {
			return project.Project{}, fmt.Errorf("importing project %q: users %d and %d are both %s", p.Name, j+1, i+1, u.ID())
		}
		seen[u.ID()] = i
		if u.Status == "" {
			doc.Users[i].Status = project.StatusNotSubmitted
		}
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if other := findProjectFold(tx, p.Name, ""); other != "" {
			return fmt.Errorf("importing project %q: %w (as %q)", p.Name, ErrExists, other)
		}
		newRef := map[string]string{}
		var sealErr error
		remap := func(ref *string) {
			if *ref == "" || sealErr != nil {
				return
			}
			if nr, ok := newRef[*ref]; ok {
				*ref = nr
				return
			}
			pt, ok := doc.Secrets[*ref]
			if !ok {
				*ref = ""
				return
			}
			nr, err := s.putSecret(tx, pt)
			if err != nil {
				sealErr = err
				return
			}
			newRef[*ref] = nr
			*ref = nr
		}
		forEachRef(&p, doc.Users, remap)
		if sealErr != nil {
			return fmt.Errorf("importing project %q: %w", p.Name, sealErr)
		}
		b, err := tx.CreateBucket(projectKey(p.Name))
		if err != nil {
			return fmt.Errorf("importing project %q: %w", p.Name, err)
		}
		ub, err := b.CreateBucket(bucketUsers)
		if err != nil {
			return fmt.Errorf("importing project %q: %w", p.Name, err)
		}
		if err := putProject(b, p); err != nil {
			return err
		}
		for _, u := range doc.Users {
			if err := putUser(ub, u); err != nil {
				return fmt.Errorf("importing project %q: %w", p.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return project.Project{}, err
	}
	return p, nil
}

// forEachRef calls fn on every secret ref field of p and users.
func forEachRef(p *project.Project, users []project.User, fn func(*string)) {
	for _, r := range []*string{&p.Source.PasswordRef, &p.Source.SecretRef, &p.Dest.PasswordRef, &p.Dest.SecretRef, &p.SMTP.PasswordRef} {
		fn(r)
	}
	for i := range users {
		fn(&users[i].SourcePasswordRef)
		fn(&users[i].DestPasswordRef)
	}
}
