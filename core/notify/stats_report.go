package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/stats"
	"github.com/mailferry/mailferry/core/store"
)

// ParseRecipients splits a list of addresses separated by commas,
// semicolons or new lines ("Name <a@b>" allowed) into bare addresses,
// without duplicates (any case). An empty list or a bad address is an
// error naming it.
func ParseRecipients(list string) ([]string, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	var out []string
	seen := map[string]bool{}
	var bad []string
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, err := mail.ParseAddress(f)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", f))
			continue
		}
		if k := strings.ToLower(a.Address); !seen[k] {
			seen[k] = true
			out = append(out, a.Address)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("not an email address: %s", strings.Join(bad, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("no recipient given")
	}
	return out, nil
}

// StatsReportFilename is the name of the CSV attached to the report of
// project name, generated at t, e.g. "Acme-Co-statistics-2026-03-14.csv".
func StatsReportFilename(name string, t time.Time) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-.")
	if base == "" {
		base = "project"
	}
	return base + "-statistics-" + t.Format("2006-01-02") + ".csv"
}

// StatsReport builds the statistics report email of ps to the recipients:
// the HTML report (stats.WriteHTML) as the body, a plain-text summary as
// its alternative, and the CSV (stats.WriteCSV) attached.
func StatsReport(ps stats.ProjectStats, to []string) (RichMessage, error) {
	var html, csv bytes.Buffer
	if err := ps.WriteHTML(&html); err != nil {
		return RichMessage{}, err
	}
	if err := ps.WriteCSV(&csv); err != nil {
		return RichMessage{}, err
	}
	title := ps.Project
	if ps.Customer != "" {
		title = ps.Customer + " (" + ps.Project + ")"
	}
	gen := ps.Generated
	if gen.IsZero() {
		gen = time.Now()
	}
	text := fmt.Sprintf("MailFerry migration report: %s\nGenerated %s\n\n"+
		"Users: %d\nPasses run: %d\nItems migrated: %d (%s)\nAlready there: %d\nItems failed: %d (%s)\nTime: %s\nMB/h: %.1f\n\n"+
		"The full report is the HTML part of this message; the statistics per user are attached as CSV.\n",
		ps.Project, gen.Format("2006-01-02")+" "+ClockText(gen), len(ps.Users), ps.PassesRun,
		ps.ItemsMigrated, size.Human(ps.BytesMigrated), ps.ItemsSkipped, ps.ItemsFailed, size.Human(ps.BytesFailed),
		ps.Duration.Round(time.Second), ps.MBPerHour)
	return RichMessage{
		To:      to,
		Subject: "MailFerry migration report: " + title,
		Text:    text,
		HTML:    html.String(),
		Attachments: []Attachment{{
			Filename:    StatsReportFilename(ps.Project, gen),
			ContentType: "text/csv",
			Data:        csv.Bytes(),
		}},
	}, nil
}

// EmailStats collects the project's statistics (with the failed items)
// and emails the report (StatsReport) to the recipients through the
// project's SMTP settings (LoadSMTP).
func EmailStats(ctx context.Context, st *store.Store, projectName string, to []string, opt *Options) (Result, error) {
	if len(to) == 0 {
		return Result{}, errors.New("emailing the statistics: no recipient given")
	}
	p, pw, err := LoadSMTP(st, projectName)
	if err != nil {
		return Result{}, err
	}
	m, err := PreviewStats(st, projectName, to)
	if err != nil {
		return Result{}, fmt.Errorf("emailing the statistics of %q: %w", projectName, err)
	}
	res, err := SendRich(ctx, p.SMTP, pw, m, opt)
	if err != nil {
		return res, fmt.Errorf("emailing the statistics of %q via %s:%d: %w", projectName, p.SMTP.Host, p.SMTP.Port, err)
	}
	return res, nil
}

// PreviewStats builds the statistics report email EmailStats would send
// to the recipients (the project's statistics with the failed items),
// without sending it and without needing SMTP settings.
func PreviewStats(st *store.Store, projectName string, to []string) (RichMessage, error) {
	ps, err := stats.Collect(st, projectName, true)
	if err != nil {
		return RichMessage{}, err
	}
	return StatsReport(ps, to)
}
