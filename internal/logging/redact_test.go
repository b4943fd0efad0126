package logging

import (
	"bytes"
	"strings"
	"testing"

	"github.com/evcharging/evsim/messages"
)

// protoactor logs a dead letter with its message (at DEBUG): a charge
// point's key inside it must not reach the log.
func TestALoggedMessageShowsNoChargePointKey(t *testing.T) {
	var out bytes.Buffer
	off := false
	l, err := New(Options{Level: "debug", Format: "text", Out: &out, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef-very-secret-key")
	NewSlogLogger(l, "protoactor").Info("[DeadLetter]", "message",
		&messages.HealthCheck{CpId: "CP-001", Seq: 7, Key: &messages.ChargePointKey{CpId: "CP-001", KeyId: "k-1", Secret: secret}})
	got := out.String()
	if strings.Contains(got, "very-secret") || !strings.Contains(got, "k-1") || !strings.Contains(got, "redacted") {
		t.Fatalf("the logged message: %s", got)
	}
}
