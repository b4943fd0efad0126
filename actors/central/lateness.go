package central

import "github.com/asynkron/protoactor-go/actor"

// A check tick is judged after all that is in Central's mailbox: a Central
// that was itself not scheduled (seconds behind its mailbox at scale, while
// the process as a whole was never stalled, so the stall meter sees nothing)
// finds its monitors' signs of life queued behind the tick. The tick goes
// back to the end of the mailbox once, as a checkFinal, and only that one
// judges the silences; ticks that pile up meanwhile add no second sweep.

// checkFinal is a check tick that waited its turn behind what was queued.
type checkFinal struct{}

// lateTick puts a check tick back at the end of the mailbox, once.
func (c *Central) lateTick(ctx actor.Context) {
	if c.checkQueued {
		return
	}
	c.checkQueued = true
	ctx.Send(ctx.Self(), &checkFinal{})
}
