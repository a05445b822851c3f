//go:build linux

package awake

// hold runs systemd-inhibit around `cat` reading our pipe: closing the
// pipe (release, or our death) ends cat and the inhibitor.
func hold(reason string) (func(), error) {
	_, in, err := startChild("systemd-inhibit", "--what=idle:sleep", "--who=MailFerry", "--why="+reason, "--mode=block", "cat")
	if err != nil {
		return nil, err
	}
	return func() { in.Close() }, nil
}
