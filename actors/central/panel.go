package central

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/timer"
)

// ErrNotAnswering is returned by Panel calls when Central does not answer in time.
var ErrNotAnswering = errors.New("central is not answering")

// ErrNotRunning is wrapped in ErrNotAnswering when Central's actor does not
// exist (stopped, or not started yet), as opposed to a slow answer.
var ErrNotRunning = errors.New("it is not running")

// DefaultPanelTimeout bounds a Panel call whose context has no deadline.
const DefaultPanelTimeout = 5 * time.Second

// NewPanel returns the Panel of the Central actor at pid (local or remote).
func NewPanel(root *actor.RootContext, pid *actor.PID) Panel {
	return &actorPanel{root: root, pid: pid}
}

type actorPanel struct {
	root *actor.RootContext
	pid  *actor.PID
}

func (p *actorPanel) ask(ctx context.Context, msg any) (any, error) {
	timeout := DefaultPanelTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := p.root.RequestFuture(p.pid, msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAnswering, err)
	}
	if _, dead := res.(*actor.DeadLetterResponse); dead {
		return nil, fmt.Errorf("%w: %w", ErrNotAnswering, ErrNotRunning)
	}
	return res, nil
}

func (p *actorPanel) Snapshot(ctx context.Context) (*Snapshot, error) {
	res, err := p.ask(ctx, &GetSnapshot{})
	if err != nil {
		return nil, err
	}
	s, ok := res.(*Snapshot)
	if !ok {
		return nil, fmt.Errorf("central answered %T to a snapshot request", res)
	}
	return s, nil
}

func (p *actorPanel) Events(ctx context.Context, since uint64, limit int) ([]Event, error) {
	res, err := p.ask(ctx, &GetEvents{Since: since, Limit: limit})
	if err != nil {
		return nil, err
	}
	e, ok := res.(*Events)
	if !ok {
		return nil, fmt.Errorf("central answered %T to an events request", res)
	}
	return e.Events, nil
}

func (p *actorPanel) operator(ctx context.Context, msg any) (*OperatorResult, error) {
	res, err := p.ask(ctx, msg)
	if err != nil {
		return nil, err
	}
	r, ok := res.(*OperatorResult)
	if !ok {
		return nil, fmt.Errorf("central answered %T to an operator command", res)
	}
	return r, nil
}

func (p *actorPanel) Stop(ctx context.Context, cpID string) (*OperatorResult, error) {
	return p.operator(ctx, &StopChargePoint{CPID: cpID})
}

func (p *actorPanel) Resume(ctx context.Context, cpID string) (*OperatorResult, error) {
	return p.operator(ctx, &ResumeChargePoint{CPID: cpID})
}

func (p *actorPanel) KnockOut(ctx context.Context, cpID string, ko bool) (*OperatorResult, error) {
	return p.operator(ctx, &KnockOut{CPID: cpID, KO: ko})
}

// Watch spawns a watcher actor that Central sends every update to. The
// watcher never blocks Central: it keeps what the reader has not taken yet,
// coalesced to the latest view per charge point and the newest events, and
// hands it over when the reader's goroutine asks. It subscribes again every
// second, so a restarted Central keeps feeding it.
func (p *actorPanel) Watch(ctx context.Context) <-chan Update {
	out := make(chan Update, 64)
	w := p.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &watcher{central: p.pid} }))
	go func() {
		defer close(out)
		defer p.root.Stop(w)
		for ctx.Err() == nil {
			res, err := p.root.RequestFuture(w, &pull{}, 2*watchHold).Result()
			if err != nil {
				continue
			}
			b, ok := res.(*batch)
			if !ok {
				return
			}
			for _, u := range b.updates {
				select {
				case out <- u:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// watchHold is how long the watcher holds a pull when it has nothing.
const watchHold = time.Second

type (
	pull        struct{}
	batch       struct{ updates []Update }
	resubscribe struct{}
	holdExpired struct{ n uint64 }
)

// maxPendingEvents bounds the events a watcher keeps for a slow reader.
const maxPendingEvents = 256

type watcher struct {
	central *actor.PID
	timers  *timer.Timers
	views   map[string]*ChargePointView
	order   []string
	events  []Event
	puller  *actor.PID
	pullN   uint64
}

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.timers = timer.New(ctx)
		w.views = map[string]*ChargePointView{}
		ctx.Send(w.central, &watchPanel{pid: ctx.Self()})
		w.timers.Every(time.Second, &resubscribe{})
	case *actor.Stopping:
		w.timers.StopAll()
	case *resubscribe:
		ctx.Send(w.central, &watchPanel{pid: ctx.Self()})
	case *Update:
		if m.Event != nil {
			w.events = append(w.events, *m.Event)
			if len(w.events) > maxPendingEvents {
				w.events = w.events[len(w.events)-maxPendingEvents:]
			}
		}
		if v := m.ChargePoint; v != nil {
			if _, ok := w.views[v.ID]; !ok {
				w.order = append(w.order, v.ID)
			}
			w.views[v.ID] = v
		}
		w.flush(ctx)
	case *pull:
		w.puller = ctx.Sender()
		w.pullN++
		if !w.flush(ctx) {
			w.timers.After(watchHold, &holdExpired{n: w.pullN})
		}
	case *holdExpired:
		if w.puller != nil && m.n == w.pullN {
			ctx.Send(w.puller, &batch{})
			w.puller = nil
		}
	}
}

func (w *watcher) flush(ctx actor.Context) bool {
	if w.puller == nil || (len(w.events) == 0 && len(w.order) == 0) {
		return false
	}
	b := &batch{}
	for i := range w.events {
		b.updates = append(b.updates, Update{Event: &w.events[i]})
	}
	for _, id := range w.order {
		b.updates = append(b.updates, Update{ChargePoint: w.views[id]})
	}
	w.events, w.order, w.views = nil, nil, map[string]*ChargePointView{}
	ctx.Send(w.puller, b)
	w.puller = nil
	return true
}
