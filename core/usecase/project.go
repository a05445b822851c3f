package usecase

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// CreateProject creates an empty project with the default options: the
// one "new project" of both faces. Name and customer are trimmed; a bad
// name is a *project.FieldError ("name").
func CreateProject(st *store.Store, name, customer string) (project.Project, error) {
	p := project.Project{
		Name:     strings.TrimSpace(name),
		Customer: strings.TrimSpace(customer),
		Options:  project.DefaultOptions(),
		Created:  time.Now().UTC().Truncate(time.Second),
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	if err := st.CreateProject(p); err != nil {
		return p, fmt.Errorf("creating project %q: %w", p.Name, err)
	}
	return p, nil
}

// FreeProjectName is name (trimmed) when no project has it, else the
// copy name project.CopyName gives it among the store's projects (names
// compare case-insensitively, as the store does): the one rule behind
// the GUI's "Import as a copy" and the CLI's suggestion for
// project import --as.
func FreeProjectName(st *store.Store, name string) (string, error) {
	ps, err := st.Projects()
	if err != nil {
		return "", fmt.Errorf("listing projects: %w", err)
	}
	taken := func(n string) bool {
		for _, p := range ps {
			if strings.EqualFold(p.Name, n) {
				return true
			}
		}
		return false
	}
	name = strings.TrimSpace(name)
	if !taken(name) {
		return name, nil
	}
	return project.CopyName(name, taken), nil
}
