package gui

import (
	"fmt"

	"github.com/mailferry/mailferry/core/demo"
)

// startDemo starts the demo servers when the store has no project yet,
// already has the demo project, or opts.Demo asks for it; it returns the
// project to select ("" to keep the remembered one).
func (u *UI) startDemo(noProjects bool) (string, error) {
	var d *demo.Demo
	var err error
	if u.opts.Demo {
		d, err = demo.StartWith(u.ctx, u.st, demo.Options{Dest: u.opts.DemoDest, BytesPerSecond: u.opts.DemoBytesPerSecond})
	} else {
		d, err = demo.EnsureDemoWith(u.ctx, u.st, demo.Options{BytesPerSecond: u.opts.DemoBytesPerSecond})
	}
	if err != nil {
		return "", fmt.Errorf("starting the demo: %w", err)
	}
	if d == nil {
		return "", nil
	}
	u.closers = append(u.closers, func() { d.Close() })
	u.outbox = d.Outbox
	if u.opts.Demo || noProjects {
		return d.Project, nil
	}
	return "", nil
}
