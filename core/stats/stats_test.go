package stats

import (
	"bytes"
	"encoding/csv"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func fixture(t *testing.T) *store.Store {
	t.Helper()
	st := kit.Store(t)
	p := project.Project{Name: "Acme", Customer: "Acme <Corp>", Options: project.DefaultOptions()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	us := []project.User{
		{SourceEmail: "a@acme.com", DestEmail: "a@new.acme.com", Status: project.StatusCompletedWithErrors, LastPass: project.PassFull},
		{SourceEmail: "b@acme.com", Status: project.StatusNotSubmitted},
	}
	if err := st.PutUsers("Acme", us); err != nil {
		t.Fatal(err)
	}
	j := st.Journal()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	seq, _ := j.BeginPass("Acme", "a@acme.com", project.PassPrestage, t0)
	must(t, j.Commit("Acme", "a@acme.com", store.Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 1, Done: []store.DoneItem{
		{Key: mailbox.SourceKey(1, 1), ContentKey: "c:1", Size: 3 << 20},
		{Key: mailbox.SourceKey(1, 2), ContentKey: "c:2", Size: 1 << 20, Via: store.ViaDest},
	}}))
	must(t, j.EndPass("Acme", "a@acme.com", seq, t0.Add(30*time.Minute), project.StatusCompleted, ""))
	seq, _ = j.BeginPass("Acme", "a@acme.com", project.PassFull, t0.Add(time.Hour))
	must(t, j.Commit("Acme", "a@acme.com", store.Batch{PassSeq: seq, Folder: "Sent <x>", UIDValidity: 5, Done: []store.DoneItem{
		{Key: mailbox.SourceKey(5, 1), ContentKey: "c:3", Size: 1 << 20},
	}, Failed: []store.FailedItem{{Key: mailbox.SourceKey(5, 2), UID: 2, Subject: "<script>big</script>", Size: 40 << 20, Reason: "too large", Hint: "raise it", Pass: project.PassFull}}}))
	must(t, j.EndPass("Acme", "a@acme.com", seq, t0.Add(90*time.Minute), project.StatusCompletedWithErrors, "1 items failed"))
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCollect(t *testing.T) {
	ps, err := Collect(fixture(t), "Acme", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Users) != 2 || ps.PassesRun != 2 {
		t.Fatalf("%+v", ps)
	}
	a := ps.Users[0]
	if a.ItemsMigrated != 2 || a.BytesMigrated != 4<<20 || a.ItemsSkipped != 1 || a.ItemsFailed != 1 || a.BytesFailed != 40<<20 {
		t.Fatalf("user a counts %+v", a.Counts)
	}
	if a.Duration != time.Hour || a.MBPerHour != 4 {
		t.Fatalf("duration %v MB/h %v", a.Duration, a.MBPerHour)
	}
	if len(a.ByPass) != 2 || a.ByPass[0].Pass != project.PassPrestage || a.ByPass[1].ItemsFailed != 1 {
		t.Fatalf("by pass %+v", a.ByPass)
	}
	if len(a.Folders) != 2 || a.Folders[0].Folder != "INBOX" || a.Folders[0].Bytes != 4<<20 || len(a.Failures) != 1 {
		t.Fatalf("folders %+v failures %v", a.Folders, a.Failures)
	}
	if b := ps.Users[1]; b.ItemsMigrated != 0 || b.Status != project.StatusNotSubmitted {
		t.Fatalf("user b %+v", b)
	}
	if ps.ItemsMigrated != 2 || ps.ByStatus[project.StatusCompletedWithErrors] != 1 || len(ps.ByPass) != 2 {
		t.Fatalf("project %+v", ps)
	}
	if _, err := Collect(fixture(t), "nope", false); err == nil {
		t.Fatal("unknown project accepted")
	}
}

func TestWriteCSV(t *testing.T) {
	ps, err := Collect(fixture(t), "Acme", false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ps.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows %q", rows)
	}
	if r := rows[1]; r[0] != "a@acme.com" || r[2] != "Completed With Errors" || r[4] != "2" || r[5] != "4194304" || r[8] != "1" || r[12] != "4.0" {
		t.Fatalf("row a %q", r)
	}
	if r := rows[3]; r[0] != "TOTAL" || r[4] != "2" || r[10] != "2" {
		t.Fatalf("total %q", r)
	}
}

func TestWriteHTML(t *testing.T) {
	ps, err := Collect(fixture(t), "Acme", true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ps.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	for _, want := range []string{"<!DOCTYPE html>", "Acme &lt;Corp&gt;", "a@acme.com", "Completed With Errors", "<svg", "<path d=\"M", "INBOX (4.0 MB)",
		"&lt;script&gt;big&lt;/script&gt;", "too large", "raise it", "Sent &lt;x&gt;"} {
		if !strings.Contains(h, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(h, "<script>") {
		t.Error("unescaped subject in report")
	}
}

func TestPieFullCircleAndEmpty(t *testing.T) {
	if s := pie(10, []slice{{Value: 5}}); len(s) != 1 || !strings.Contains(s[0].Path, "a 10.00") || s[0].Pct != "100.0%" {
		t.Fatalf("%+v", s)
	}
	if s := pie(10, []slice{{Value: 0}}); len(s) != 0 {
		t.Fatalf("%+v", s)
	}
}

// The report names its time in its own zone with the offset, not in UTC.
func TestWriteHTMLTimeHasZone(t *testing.T) {
	ps, err := Collect(fixture(t), "Acme", false)
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ps.Generated = time.Date(2026, 7, 14, 18, 5, 0, 0, berlin)
	var buf bytes.Buffer
	if err := ps.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.UnescapeString(buf.String()), "generated 2026-07-14 18:05 CEST (UTC+02:00)") {
		i := strings.Index(buf.String(), "generated")
		t.Errorf("the report's time lacks its zone: %q", buf.String()[i:i+60])
	}
}
