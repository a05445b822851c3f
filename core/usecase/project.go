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
