package driver

import (
	"fmt"

	"github.com/evcharging/evsim/bridge"
)

// brokerWatch remembers what the bridge said of the broker, so that a
// request left without an answer during a broker outage blames the broker,
// not Central.
type brokerWatch struct {
	down   bool   // the bridge's last word was not "ready"
	detail string // why, from the bridge
	// duringRequest: the broker was away at some point since the request was sent.
	duringRequest bool
}

func (w *brokerWatch) changed(s *bridge.StateChanged) {
	w.down = s.State != bridge.StateReady
	if w.down {
		w.detail, w.duringRequest = s.Detail, true
	}
}

// sent starts a new request's watch.
func (w *brokerWatch) sent() { w.duringRequest = w.down }

// unreachable names what the driver could not reach about its request.
func (w *brokerWatch) unreachable() string {
	if !w.duringRequest {
		return "Central"
	}
	if w.detail == "" {
		return "the Kafka broker"
	}
	return fmt.Sprintf("the Kafka broker (%s)", w.detail)
}

// allDone is the line of a driver whose n requests are all done.
func allDone(n int) string {
	if n == 1 {
		return "My one request is done"
	}
	return fmt.Sprintf("All %d requests done", n)
}
