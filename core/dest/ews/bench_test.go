package ews

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

// BenchmarkPut measures messages/s written through CreateItem batches
// (20 messages of ~4 KB each) by 1 and by 8 concurrent Destinations (8
// mailboxes reached by delegation through one admin account) against the
// emulator, with and without its schema validation.
func BenchmarkPut(b *testing.B) {
	for _, validate := range []bool{false, true} {
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("validate=%v/destinations=%d", validate, n), func(b *testing.B) { benchPut(b, n, validate) })
		}
	}
}

func benchPut(b *testing.B, n int, validate bool) {
	var boxes []string
	for i := 0; i < n; i++ {
		boxes = append(boxes, fmt.Sprintf("user%d@example.net", i))
	}
	var v ewsemu.Validator // nil: the EWS schema
	if !validate {
		v = ewssrv.NoValidation
	}
	s := ewssrv.Start(b, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "pw", FullAccess: []string{"*"}}},
		Mailboxes: boxes,
		Validator: v,
	})
	ctx := context.Background()
	o := Options{RootCAs: s.CertPool(), Retry: fastRetry()}
	msg := rfc822(1, `\Seen`)
	for len(msg.Body) < 4000 {
		msg.Body = append(msg.Body, "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"...)
	}
	batch := make([]mailbox.Message, 20)
	for i := range batch {
		batch[i] = msg
		batch[i].ContentKey = mailbox.ContentKey(fmt.Sprintf("c:%d", i))
	}
	type target struct {
		d *Destination
		f mailbox.FolderRef
	}
	var ts []target
	for _, box := range boxes {
		d, err := Dial(ctx, project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessDelegation},
			Credentials{User: "admin", Password: "pw", Mailbox: box}, o)
		if err != nil {
			b.Fatal(err)
		}
		f, err := d.EnsureFolder(ctx, []string{"Bench"}, "", true)
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, target{d, f})
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + n - 1) / n
	for _, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent := 0; sent < per; sent += len(batch) {
				res, err := t.d.Put(ctx, t.f, batch[:min(len(batch), per-sent)])
				if err != nil {
					b.Error(err)
					return
				}
				for _, r := range res {
					if r.Err != nil {
						b.Error(r.Err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*n)/b.Elapsed().Seconds(), "msgs/s")
}
