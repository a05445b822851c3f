package chaos

import "testing"

// The exact fault: the source connection cut every 1–5 MB. Fails
// today: core/source's Fetch collects up to 8 MB per UID FETCH chunk and
// delivers nothing of a chunk whose connection dies, so the retries never
// get past a chunk bigger than the connection's budget.
func TestCutSource1to5MBIMAPToIMAP(t *testing.T) { testCutIMAPToIMAP(t, 1<<20, 5<<20) }

func TestCutSource1to5MBIMAPToEWS(t *testing.T) { testCutIMAPToEWS(t, 1<<20, 5<<20) }
