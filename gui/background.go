package gui

import "fyne.io/fyne/v2"

// offUI runs slow work (scrypt, sealing many secrets, big store writes) on
// a goroutine, so the window keeps drawing and answering, then hands its
// result to done on the UI goroutine (fyne.Do). done is skipped once the
// UI is closed. u.busy counts the jobs not finished; tests wait on it,
// and hold jobs back with u.hold to see the UI before the work is done.
func offUI[T any](u *UI, work func() T, done func(T)) {
	u.busy.Add(1)
	hold := u.hold
	go func() {
		if hold != nil {
			<-hold
		}
		v := work()
		fyne.Do(func() {
			defer u.busy.Done()
			if u.ctx.Err() == nil {
				done(v)
			}
		})
	}()
}
