package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
)

// ExportFormat and ExportVersion identify a project export document.
// Version 1 held the secrets in clear (base64) under "secrets"; it is still
// read, never written. Version 2 holds them sealed under "sealed_secrets"
// (see sealedSecrets).
const (
	ExportFormat  = "mailferry-project"
	ExportVersion = 2
)

// MinPassphraseLen is the shortest passphrase ExportProjectSealed accepts.
const MinPassphraseLen = 8

// Errors of the export and import of projects, for errors.Is.
var (
	// ErrPassphraseRequired: passwords are to be exported without a
	// passphrase, or an export holding sealed passwords is imported
	// without one.
	ErrPassphraseRequired = errors.New("passphrase required")
	// ErrWrongPassphrase: the passphrase does not open the export.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrExportDamaged: the export was altered or damaged after it was
	// written (its sealed passwords no longer match the document).
	ErrExportDamaged = errors.New("the export was altered or damaged")
)

// exportDoc is the JSON document ExportProject writes.
type exportDoc struct {
	Format   string          `json:"format"`
	Version  int             `json:"version"`
	Exported time.Time       `json:"exported"`
	Project  json.RawMessage `json:"project"`
	Users    json.RawMessage `json:"users"`
	// Secrets (version 1 only, read-compat) maps the refs used in Project
	// and Users to the plaintext secrets (base64 in JSON).
	Secrets map[string][]byte `json:"secrets,omitempty"`
	// Sealed (version 2) holds the secrets encrypted with the passphrase.
	Sealed *sealedSecrets `json:"sealed_secrets,omitempty"`
	Note   string         `json:"note,omitempty"`
}

const sealedNote = "This file holds the project's passwords encrypted with a passphrase (scrypt, AES-256-GCM). " +
	"Importing them needs that passphrase; the file can also be imported without the passwords."

// ExportProject returns the project and its users as a JSON document
// {"format":"mailferry-project","version":2,"project":…,"users":[…]} with
// every secret ref blanked, so the file holds no credentials.
// withSecrets must be false: passwords are only exported sealed with a
// passphrase (ExportProjectSealed); true returns ErrPassphraseRequired.
func (s *Store) ExportProject(name string, withSecrets bool) ([]byte, error) {
	if withSecrets {
		return nil, fmt.Errorf("exporting project %q with its passwords: %w (MailFerry never writes passwords in clear; use a passphrase)", name, ErrPassphraseRequired)
	}
	return s.export(name, nil)
}

// ExportProjectSealed is ExportProject with the project's passwords
// included, encrypted with a key derived from passphrase (at least
// MinPassphraseLen characters) by scrypt with a random salt, under AES-256-GCM.
// The whole document is authenticated: altering the project or its users
// makes the import fail.
func (s *Store) ExportProjectSealed(name string, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("exporting project %q with its passwords: %w", name, ErrPassphraseRequired)
	}
	if err := CheckPassphrase(passphrase); err != nil {
		return nil, fmt.Errorf("exporting project %q with its passwords: %w", name, err)
	}
	return s.export(name, passphrase)
}

// CheckPassphrase is the one rule for an export passphrase (both faces
// check it before asking to export): at least MinPassphraseLen
// characters.
func CheckPassphrase(passphrase []byte) error {
	if utf8.RuneCount(passphrase) < MinPassphraseLen {
		return fmt.Errorf("the passphrase needs at least %d characters", MinPassphraseLen)
	}
	return nil
}

// export writes the document; passphrase nil = without secrets.
func (s *Store) export(name string, passphrase []byte) ([]byte, error) {
	withSecrets := passphrase != nil
	p, users, sealed, err := s.readForExport(name, withSecrets)
	if err != nil {
		return nil, err
	}
	secrets := make(map[string][]byte, len(sealed))
	for r, v := range sealed {
		pt, err := s.sealer.Open(v)
		if err != nil {
			return nil, fmt.Errorf("exporting project %q: secret %s: %w", name, r, err)
		}
		secrets[r] = pt
	}
	// Refs without a secret (dangling, or all refs when exporting without
	// secrets) are blanked.
	forEachRef(&p, users, func(ref *string) {
		if _, ok := secrets[*ref]; !ok {
			*ref = ""
		}
	})
	doc := exportDoc{Format: ExportFormat, Version: ExportVersion, Exported: time.Now().UTC().Truncate(time.Second)}
	if doc.Project, err = json.Marshal(p); err != nil {
		return nil, fmt.Errorf("exporting project %q: %w", name, err)
	}
	if doc.Users, err = json.Marshal(users); err != nil {
		return nil, fmt.Errorf("exporting project %q: %w", name, err)
	}
	if withSecrets {
		ad, err := exportAD(&doc)
		if err != nil {
			return nil, fmt.Errorf("exporting project %q: %w", name, err)
		}
		doc.Sealed, err = sealSecrets(secrets, passphrase, ad)
		clear(secrets)
		if err != nil {
			return nil, fmt.Errorf("exporting project %q: %w", name, err)
		}
		doc.Note = sealedNote
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("exporting project %q: %w", name, err)
	}
	return append(out, '\n'), nil
}

// readForExport reads the project, its users and (withSecrets) the
// sealed secrets its refs point at, by ref, in one read transaction.
func (s *Store) readForExport(name string, withSecrets bool) (project.Project, []project.User, map[string][]byte, error) {
	var (
		p     project.Project
		users = []project.User{}
	)
	sealed := map[string][]byte{}
	err := view(s.db, func(tx *bbolt.Tx) error {
		var b *bbolt.Bucket
		var err error
		p, b, err = getProject(tx, name)
		if err != nil {
			return err
		}
		if ub := b.Bucket(bucketUsers); ub != nil {
			err := ub.ForEach(func(k, v []byte) error {
				var u project.User
				if err := json.Unmarshal(v, &u); err != nil {
					return fmt.Errorf("project %q: user %q: decoding: %w", name, k, err)
				}
				users = append(users, u)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if withSecrets {
			sb := tx.Bucket(bucketSecrets)
			refs := projectRefs(p)
			for _, u := range users {
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
	return p, users, sealed, err
}

// ImportOptions tune ImportProjectWith.
type ImportOptions struct {
	// Passphrase opens the sealed passwords of a version 2 export.
	Passphrase []byte
	// WithoutSecrets imports the project and users without any password
	// (every ref blank), whatever the file holds; no passphrase needed.
	WithoutSecrets bool
	// Name, when not empty, is the name the project is imported under
	// instead of its exported name (e.g. project.CopyName's when that name
	// is taken).
	Name string
}

// ExportInfo describes an export document without importing it.
type ExportInfo struct {
	Project string // the exported project's name
	Version int
	// Sealed: the file holds passwords that need the passphrase.
	Sealed bool
	// ClearSecrets: an old (version 1) file with passwords in clear.
	ClearSecrets bool
	Users        int
}

// InspectExport checks that data is a MailFerry project export this
// version reads, and says what it holds (e.g. whether a passphrase will be
// needed).
func InspectExport(data []byte) (ExportInfo, error) {
	doc, p, users, err := parseExport(data)
	if err != nil {
		return ExportInfo{}, err
	}
	return ExportInfo{Project: p.Name, Version: doc.Version, Sealed: doc.Sealed != nil,
		ClearSecrets: len(doc.Secrets) > 0, Users: len(users)}, nil
}

func parseExport(data []byte) (exportDoc, project.Project, []project.User, error) {
	var doc exportDoc
	var p project.Project
	var users []project.User
	if err := json.Unmarshal(data, &doc); err != nil {
		return doc, p, nil, fmt.Errorf("importing project: not a MailFerry project file: %w", err)
	}
	if doc.Format != ExportFormat {
		return doc, p, nil, fmt.Errorf("importing project: format %q is not %q", doc.Format, ExportFormat)
	}
	if doc.Version < 1 || doc.Version > ExportVersion {
		return doc, p, nil, fmt.Errorf("importing project: file version %d is not supported (this MailFerry reads up to %d)", doc.Version, ExportVersion)
	}
	switch {
	case doc.Version == 1 && doc.Sealed != nil:
		return doc, p, nil, fmt.Errorf("importing project: a version 1 file cannot hold sealed secrets: %w", ErrExportDamaged)
	case doc.Version >= 2 && doc.Secrets != nil:
		return doc, p, nil, fmt.Errorf("importing project: a version %d file never holds passwords in clear: %w", doc.Version, ErrExportDamaged)
	}
	if len(doc.Project) > 0 && !bytes.Equal(doc.Project, []byte("null")) {
		if err := json.Unmarshal(doc.Project, &p); err != nil {
			return doc, p, nil, fmt.Errorf("importing project: project: %w", err)
		}
	}
	if len(doc.Users) > 0 && !bytes.Equal(doc.Users, []byte("null")) {
		if err := json.Unmarshal(doc.Users, &users); err != nil {
			return doc, p, nil, fmt.Errorf("importing project %q: users: %w", p.Name, err)
		}
	}
	return doc, p, users, nil
}

// ImportProject stores a project exported by ExportProject under its
// exported name (ErrExists if that name is taken). It is
// ImportProjectWith without options: a file holding sealed passwords
// fails with ErrPassphraseRequired; an old version 1 file's clear secrets
// are imported.
func (s *Store) ImportProject(data []byte) (project.Project, error) {
	return s.ImportProjectWith(data, ImportOptions{})
}

// ImportProjectWith stores a project exported by ExportProject or
// ExportProjectSealed under its exported name, or opt.Name (ErrExists if
// that name is taken). Secrets in the document are sealed again (at rest) under new
// refs; refs without a secret are blanked. A file with sealed passwords
// needs opt.Passphrase (ErrPassphraseRequired without, ErrWrongPassphrase
// when it does not open them, ErrExportDamaged when the document was
// altered) unless opt.WithoutSecrets.
func (s *Store) ImportProjectWith(data []byte, opt ImportOptions) (project.Project, error) {
	doc, p, users, err := parseExport(data)
	if err != nil {
		return project.Project{}, err
	}
	if name := strings.TrimSpace(opt.Name); name != "" {
		p.Name = name // the sealed secrets stay bound to the document as exported
	}
	if err := checkImport(p, users); err != nil {
		return project.Project{}, err
	}
	// A name clash is reported before any passphrase is asked for (and
	// checked again below, in the transaction that imports).
	err = view(s.db, func(tx *bbolt.Tx) error {
		if other := findProjectFold(tx, p.Name, ""); other != "" {
			return fmt.Errorf("importing project %q: %w (as %q)", p.Name, ErrExists, other)
		}
		return nil
	})
	if err != nil {
		return project.Project{}, err
	}
	secrets, err := importSecrets(&doc, p.Name, opt)
	if err != nil {
		return project.Project{}, err
	}
	if doc.Sealed != nil {
		defer clearAll(secrets)
	}
	err = update(s.db, func(tx *bbolt.Tx) error {
		if other := findProjectFold(tx, p.Name, ""); other != "" {
			return fmt.Errorf("importing project %q: %w (as %q)", p.Name, ErrExists, other)
		}
		if err := s.resealRefs(tx, &p, users, secrets); err != nil {
			return fmt.Errorf("importing project %q: %w", p.Name, err)
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
		for _, u := range users {
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

// checkImport validates an imported project and its users (each once),
// and gives a user without a status StatusNotSubmitted.
func checkImport(p project.Project, users []project.User) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("importing project %q: %w", p.Name, err)
	}
	seen := map[string]int{}
	for i, u := range users {
		if err := u.Validate(); err != nil {
			return fmt.Errorf("importing project %q: user %d (%s): %w", p.Name, i+1, u.SourceEmail, err)
		}
		if j, dup := seen[u.ID()]; dup {
			return fmt.Errorf("importing project %q: users %d and %d are both %s", p.Name, j+1, i+1, u.ID())
		}
		seen[u.ID()] = i
		if u.Status == "" {
			users[i].Status = project.StatusNotSubmitted
		}
	}
	return nil
}

// importSecrets are the plaintext secrets of doc by ref: none with
// opt.WithoutSecrets, the sealed ones opened with opt.Passphrase (the
// caller clears them), or a version 1 document's.
func importSecrets(doc *exportDoc, name string, opt ImportOptions) (map[string][]byte, error) {
	switch {
	case opt.WithoutSecrets:
		return nil, nil
	case doc.Sealed != nil:
		if len(opt.Passphrase) == 0 {
			return nil, fmt.Errorf("importing project %q: this export contains passwords: give the passphrase it was exported with (or import it without the passwords): %w", name, ErrPassphraseRequired)
		}
		ad, err := exportAD(doc)
		if err != nil {
			return nil, fmt.Errorf("importing project %q: %w", name, err)
		}
		secrets, err := openSecrets(doc.Sealed, opt.Passphrase, ad)
		if err != nil {
			return nil, fmt.Errorf("importing project %q: %w", name, err)
		}
		return secrets, nil
	default:
		return doc.Secrets, nil // version 1
	}
}

// resealRefs seals secrets again in tx and points every secret ref of p
// and users at the new ref (one new ref per old one); a ref without a
// secret is blanked.
func (s *Store) resealRefs(tx *bbolt.Tx, p *project.Project, users []project.User, secrets map[string][]byte) error {
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
		pt, ok := secrets[*ref]
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
	forEachRef(p, users, remap)
	return sealErr
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
