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
