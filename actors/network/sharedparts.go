package network

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/monitor"
)

// sharedParts are handed alike to every monitor: made once, not once per
// charge point (a PID of Central and a reporter for each of 100,000
// monitors are 100,000 copies of the same thing).
type sharedParts struct {
	once     sync.Once
	central  *actor.PID
	reporter monitor.CentralReporter
}

// sharedCentral is Central's PID, the same one for every monitor.
func (n *Network) sharedCentral() *actor.PID {
	n.makeShared()
	return n.shared.central
}

// sharedReporter is centralReporter's, the same one for every monitor.
func (n *Network) sharedReporter() monitor.CentralReporter {
	n.makeShared()
	return n.shared.reporter
}

func (n *Network) makeShared() {
	n.shared.once.Do(func() {
		n.shared.central = n.Central()
		n.shared.reporter = n.centralReporter()
	})
}
