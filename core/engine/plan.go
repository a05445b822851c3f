package engine

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/mapping"
)

// Plan logs in to the user's source, lists its folders and returns the
// source → destination folder plan the passes would use (mapping.Plan
// with the project's options and the user's support options). Nothing is
// written anywhere. It backs `mailferry plan` and the GUI's preview.
func (e *Engine) Plan(ctx context.Context, projectName, userID string) ([]mapping.PlanRow, error) {
	p, err := e.st.Project(projectName)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	u, err := e.st.User(projectName, normID(userID))
	if err != nil {
		return nil, fmt.Errorf("engine: user %q: %w", userID, err)
	}
	rules, err := mapping.CompileFor(p, u)
	if err != nil {
		return nil, err
	}
	src, err := connect.OpenSource(ctx, e.st, p, u)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	folders, err := retrySource{Source: src, r: retrier{pol: e.opts.Retry, log: e.log}}.Folders(ctx)
	if err != nil {
		return nil, err
	}
	return mapping.Plan(folders, rules), nil
}
