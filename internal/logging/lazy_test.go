package logging

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestLazyEntryNamesTheComponentAndID(t *testing.T) {
	var out bytes.Buffer
	off := false
	l, err := New(Options{Level: "info", Out: &out, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	lazy := NewLazy(l, "Driver ", "driver_id", "alice")
	lazy.Entry().Info("Accepted")
	if got := out.String(); !strings.Contains(got, "| INFO | Driver alice | Accepted driver_id=alice") {
		t.Fatalf("line %q", got)
	}
	if lazy.Enabled(logrus.DebugLevel) || !lazy.Enabled(logrus.WarnLevel) {
		t.Error("Enabled does not follow the logger's level")
	}
}

// A line at a level that is not written costs a few small allocations (9
// through logrus's entry pool) and leaves nothing in that pool: at start-up,
// 25,000 actors each saying they are ready at INFO under --log-level warn
// left about 13 MB of pooled entries and their field maps (a 10,000 charge
// point heap profile).
func TestLazyEntryIsCheapWhenTheLineIsNotWritten(t *testing.T) {
	off := false
	l, err := New(Options{Level: "warn", Out: &bytes.Buffer{}, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	lazy := NewLazy(l, "Monitor ", "cp_id", "CP-000123")
	allocs := testing.AllocsPerRun(1000, func() { lazy.Entry().Infof("%s is ready", "CP-000123") })
	if allocs > 6 {
		t.Fatalf("%.0f allocations for a line that is not written, want at most 6", allocs)
	}
}
