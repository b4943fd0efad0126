package chargepoint

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// What the engine does only once its journal holds a record: publish a
// supply's start or end, an order's new state, and tell the bridge that a
// command is handled. The engine hands each record to the journal's writer
// (writebehind.go) and goes on answering health checks; the writer tells it
// when the record is on disk (journalWritten), and the engine then does,
// in order, what waited for it. Nothing is published that a kill -9 could
// take back: a restart reports the supply from the journal, as published.

// journalWritten tells the engine (by, one incarnation) that every record
// it handed over up to seq is on disk.
type journalWritten struct {
	by  *Engine
	seq uint64
}

// afterWrite is something to do once record seq is on disk.
type afterWrite struct {
	seq uint64
	do  func(ctx actor.Context)
}

// persist hands the machine's record to the journal: written at once by a
// fast journal (in memory), on the writer's goroutine by a slow one.
func (e *Engine) persist(ctx actor.Context) {
	e.handedSeq++
	seq, rec := e.handedSeq, e.m.Record()
	w, behind := e.cfg.Journal.(*writeBehind)
	if !behind {
		if err := e.cfg.Journal.Save(rec); err != nil {
			e.log.Entry().WithError(err).Warn("Could not write the engine journal")
		}
		e.written(ctx, seq)
		return
	}
	sys, self, me, log := ctx.ActorSystem(), ctx.Self(), e, e.log
	w.SaveThen(rec, func(err error) {
		if err != nil {
			// As before the writer: the supply goes on, its end is published.
			log.Entry().WithError(err).Warn("Could not write the engine journal")
		}
		sys.Root.Send(self, &journalWritten{by: me, seq: seq})
	})
}

// afterJournal does f once the last record handed over is on disk: now,
// when it is and nothing waits before f.
func (e *Engine) afterJournal(ctx actor.Context, f func(ctx actor.Context)) {
	if len(e.waiting) == 0 && e.writtenSeq >= e.handedSeq {
		f(ctx)
		return
	}
	e.waiting = append(e.waiting, afterWrite{seq: e.handedSeq, do: f})
}

// written is told that the records up to seq are on disk: it does what
// waited for them, in order, then the commands held back meanwhile.
func (e *Engine) written(ctx actor.Context, seq uint64) {
	if seq > e.writtenSeq {
		e.writtenSeq = seq
	}
	for len(e.waiting) > 0 && e.waiting[0].seq <= e.writtenSeq {
		next := e.waiting[0]
		e.waiting = e.waiting[1:]
		next.do(ctx)
	}
	for len(e.heldBack) > 0 && !e.leaving && !e.holdsCommands() {
		d := e.heldBack[0]
		e.heldBack = e.heldBack[1:]
		e.delivery(ctx, d)
	}
}

// settle waits for the disk and does everything that waited for it: when
// the engine shuts down, stops or restarts, nothing it decided is left
// unpublished. Commands held back are handled too, unless the engine is
// leaving (they are then handed to the next incarnation, or left for the
// next consumer).
func (e *Engine) settle(ctx actor.Context) {
	w, behind := e.cfg.Journal.(*writeBehind)
	for rounds := 0; rounds < 8 && (len(e.waiting) > 0 || (len(e.heldBack) > 0 && !e.leaving)); rounds++ {
		if behind {
			w.Flush()
		}
		e.written(ctx, e.handedSeq)
	}
}

// holdsCommands says whether commands wait: a supply's end is being saved
// (a start now would have to overwrite it), or commands before them wait.
func (e *Engine) holdsCommands() bool { return e.m.EndPending() != "" }

// delivery handles a command record from the bridge, or holds it back
// while an end is being saved; the bridge hears it is handled once what it
// changed is on disk.
func (e *Engine) delivery(ctx actor.Context, d *bridge.Delivery) {
	if len(e.heldBack) > 0 || e.holdsCommands() {
		e.heldBack = append(e.heldBack, d)
		return
	}
	if cmd, ok := d.Msg.(*messages.Command); ok && cmd.GetCpId() == e.cfg.CPID {
		e.command(ctx, cmd)
	}
	e.afterJournal(ctx, func(actor.Context) { d.Done() })
}
