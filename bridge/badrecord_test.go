package bridge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
)

// TestBadRecordWarnHasNoNonBreakingSpace: protobuf writes "proto:" and a
// non-breaking space in some builds; the WARN about a bad record says it
// with a plain space.
func TestBadRecordWarnHasNoNonBreakingSpace(t *testing.T) {
	logger, buf := newTestLogger(t)
	b := &bridge{log: logging.Component(logger, "Bridge"), run: stats.New(), bad: badRecordLog{every: time.Second}}
	b.badRecord(&consumerRecord{topic: "status", err: errors.New("proto:\u00a0cannot parse invalid wire-format data")})
	warns := buf.Lines("Skipped a record that does not decode")
	if len(warns) != 1 || !strings.Contains(warns[0], "proto: cannot parse") || strings.Contains(warns[0], "\u00a0") || strings.Contains(warns[0], `\u00a0`) {
		t.Errorf("WARN lines %q; want one with a plain space after proto:", warns)
	}
}
