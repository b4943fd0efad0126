package network_test

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
)

// bareFloor measures what protoactor itself keeps per actor beyond a bare
// one with props of its own: actors that share one props (the props an
// actor keeps for its restarts), and children of one parent (the parent's
// set of children and the child's set of watchers, which every supervised
// part of a charge point has), and an actor another one watches (as the
// bridge watches every subscriber).
func (b *budget) bareFloor() {
	// The bridge forgets the subscriptions of the stopped actors of the
	// row before in its own time: what it frees must not be counted here.
	testkit.Eventually(b.t, time.Minute, func() bool {
		s, ok := b.request(b.h.Bridge, &bridge.Stats{}).(*bridge.StatsReply)
		return ok && s.Subscriptions < b.n // the harness keeps a few of its own
	}, func() string { return "the bridge still holds subscriptions of stopped actors" })
	b.settleHeap()
	shared := actor.PropsFromFunc(budgetPeer)
	var pids []*actor.PID
	b.row("protoactor actor, bare, one props shared", func() {
		pids = b.spawnN(func(int) *actor.Props { return shared })
	}, func() { b.ping(pids) })

	parent := b.h.Sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if n, ok := c.Message().(int); ok {
			kids := make([]*actor.PID, n)
			for i := range kids {
				kids[i] = c.Spawn(shared)
			}
			c.Respond(kids)
		}
	}))
	var kids []*actor.PID
	b.row("protoactor child (shared props, watched by its parent)", func() {
		kids = b.request(parent, b.n).([]*actor.PID)
	}, func() { b.ping(kids) })
	b.stop(pids)
	b.stop([]*actor.PID{parent})
	b.settleHeap()

	// The bridge watches every subscriber (to forget it when it stops):
	// the watched actor keeps a set of its watchers, a map of its own.
	pids = b.spawnN(func(int) *actor.Props { return shared })
	b.ping(pids)
	watcher := b.h.Sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if all, ok := c.Message().([]*actor.PID); ok {
			for _, p := range all {
				c.Watch(p)
			}
			c.Respond(len(all))
		}
	}))
	b.row("protoactor watch (the watched actor's set of watchers)", func() {
		b.request(watcher, pids)
	}, func() { b.ping(pids) })
	b.stop(pids)
	b.stop([]*actor.PID{watcher})
	b.settleHeap()
}

// settleHeap waits until what stopped actors held is freed (protoactor
// lets go of some of it in its own time), so that it is not counted
// against the next part.
func (b *budget) settleHeap() {
	prev, _ := usage()
	var cur int64
	testkit.Eventually(b.t, time.Minute, func() bool {
		cur, _ = usage()
		d := cur - prev
		prev = cur
		return d < int64(16*b.n) && d > -int64(16*b.n) // under 16 bytes a part apart
	}, func() string { return "the heap did not settle" })
}
