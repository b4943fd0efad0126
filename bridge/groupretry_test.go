package bridge

import (
	"testing"
	"time"
)

// A member whose JoinGroup or SyncGroup is refused because the group is
// rebalancing tries again after Rebalance.Retry.Backoff, and must do so
// well within its session, or the coordinator expels it meanwhile. With
// sarama's 2 s back-off and the Centrals' 2 s session, after a Kafka
// node's crash two Centrals took turns: one formed a generation alone,
// the other's join refused its SyncGroup, it waited 2 s, was expelled,
// joined as a new member and refused the other's SyncGroup in turn (seen
// for 8 to 14 s, generations 4 to 13, each with one member).
func TestConsumerGroupsTryAgainWellWithinTheirSession(t *testing.T) {
	for _, session := range []time.Duration{time.Second, 2 * time.Second, 0, 30 * time.Second} {
		cfg := testConfig("127.0.0.1:1")
		cfg.GroupSessionTimeout = session
		cfg.setDefaults()
		s := cfg.consumerSarama()
		g := s.Consumer.Group
		if back := g.Rebalance.Retry.Backoff; back <= 0 || back > g.Session.Timeout/4 {
			t.Errorf("session %v: rebalance retry back-off %v, want above 0 and at most a quarter of the session", g.Session.Timeout, back)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("session %v: %v", g.Session.Timeout, err)
		}
	}
}
