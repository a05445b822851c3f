package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

// BenchmarkIMAPToEWS measures a Full pass from a private Dovecot into the
// EWS emulator through the engine (TLS on both sides, delegation), with 1
// and with 8 users migrating at once (300 messages of up to 32 KiB each),
// the emulator's schema validation off and on. Each iteration starts an
// empty emulator and a new database; only Run is timed.
//
//	go test ./core/integration/ -run '^$' -bench IMAPToEWS -benchtime 1x
func BenchmarkIMAPToEWS(b *testing.B) {
	const perUser = 300
	var logins []string
	for i := 1; i <= 8; i++ {
		logins = append(logins, fmt.Sprintf("user%d", i))
	}
	dc := startDovecot(b, func(i int) corpus.Spec {
		return corpus.Spec{Messages: perUser, Seed: int64(70 + i), MaxSize: 32 << 10}
	}, logins...)
	for _, v := range []struct {
		name string
		val  ewsemu.Validator // nil: the EWS schema
	}{{"validate=off", ewssrv.NoValidation}, {"validate=on", nil}} {
		for _, users := range []int{1, 8} {
			b.Run(fmt.Sprintf("users=%d/%s", users, v.name), func(b *testing.B) {
				var msgs, bytes int64
				var elapsed time.Duration
				for range b.N {
					b.StopTimer()
					s := startEWS(b, func(o *ewsemu.Options) { o.Validator = v.val }, logins[:users]...)
					opts := project.DefaultOptions()
					opts.MaxConcurrentUsers = users
					r := newRig(b, dc, s, project.AccessDelegation, "", opts, logins[:users]...)
					b.StartTimer()
					start := time.Now()
					sums := r.run(project.PassFull)
					elapsed += time.Since(start)
					b.StopTimer()
					for _, us := range sums {
						if us.Status != project.StatusCompleted || us.ItemsMigrated < perUser {
							b.Fatalf("%+v", us)
						}
						msgs += us.ItemsMigrated
						bytes += us.BytesMigrated
					}
					if st := s.Stats(); st.SchemaRejected != 0 {
						b.Fatalf("%d requests failed schema validation", st.SchemaRejected)
					}
					s.Close()
				}
				b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(bytes)/(1<<20)/elapsed.Seconds(), "MiB/s")
			})
		}
	}
}
