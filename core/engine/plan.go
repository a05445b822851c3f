package engine

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/mapping"
	"github.com/mailferry/mailferry/core/project"
)

// Plan lists a user's source folders and maps them as a pass would (the
// CLI's plan and the GUI's preview): SourceFolders, then PlanFolders with
// the stored options.
func (e *Engine) Plan(ctx context.Context, projectName, userID string) ([]mapping.PlanRow, error) {
	p, u, err := e.projectUser(projectName, userID)
	if err != nil {
		return nil, err
	}
	if _, err := mapping.CompileFor(p, u); err != nil {
		return nil, err // bad rules: said before the server is asked
	}
	folders, err := e.sourceFolders(ctx, p, u)
	if err != nil {
		return nil, err
	}
	return PlanFolders(p, u, folders)
}

// SourceFolders lists a user's source folders (with the engine's retry
// policy), for a preview that is then recomputed with PlanFolders as the
// options are edited.
func (e *Engine) SourceFolders(ctx context.Context, projectName, userID string) ([]mailbox.Folder, error) {
	p, u, err := e.projectUser(projectName, userID)
	if err != nil {
		return nil, err
	}
	return e.sourceFolders(ctx, p, u)
}

// PlanFolders maps folders with p's options (saved or being edited) and
// u's support options, adapted to the destination type exactly as a pass
// adapts them.
func PlanFolders(p project.Project, u project.User, folders []mailbox.Folder) ([]mapping.PlanRow, error) {
	rules, err := mapping.CompileFor(p, u)
	if err != nil {
		return nil, err
	}
	return mapping.Plan(folders, rules), nil
}

func (e *Engine) projectUser(projectName, userID string) (project.Project, project.User, error) {
	p, err := e.st.Project(projectName)
	if err != nil {
		return p, project.User{}, fmt.Errorf("engine: %w", err)
	}
	u, err := e.st.User(projectName, normID(userID))
	if err != nil {
		return p, u, fmt.Errorf("engine: user %q: %w", userID, err)
	}
	return p, u, nil
}

func (e *Engine) sourceFolders(ctx context.Context, p project.Project, u project.User) ([]mailbox.Folder, error) {
	src, err := connect.OpenSource(ctx, e.st, p, u)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	folders, err := retrySource{Source: src, r: retrier{pol: e.opts.Retry, log: e.log}}.Folders(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing folders: %w", err)
	}
	if folders == nil {
		folders = []mailbox.Folder{}
	}
	return folders, nil
}
