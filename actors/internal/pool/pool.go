// Package pool runs the mailboxes of an actor system's actors on a few
// long-lived worker goroutines instead of a new goroutine for every burst
// of messages (protoactor's default dispatcher). When every charge point's
// timer fires in the same tick, the default starts ten thousand goroutines
// at once, each growing a fresh stack; the pool runs them on its workers,
// whose stacks are already grown. An actor still handles one message at a
// time, in order: the mailbox guarantees it, whatever runs it.
package pool

import (
	"runtime"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Throughput is how many messages a mailbox handles before it lets others
// run (protoactor's default).
const Throughput = 300

// registryID names the pool in its actor system's process registry, which
// is how every supervisor of one system finds the same pool without a global.
const registryID = "$mailbox-pool"

// Pool is an actor.Dispatcher with a bounded set of workers and an
// unbounded queue: Schedule never blocks, so an actor that sends to another
// from inside a worker can never wait for a worker.
type Pool struct {
	sys *actor.ActorSystem
	max int

	mu      sync.Mutex
	wake    *sync.Cond
	queue   []func()
	head    int
	workers int
	idle    int
	stopped bool
}

var _ actor.Dispatcher = (*Pool)(nil)

// For returns the pool of sys, made on first use with four workers per CPU
// (a handler that waits on the disk, such as Central's database, holds one).
func For(sys *actor.ActorSystem) *Pool {
	for {
		if p, ok := sys.ProcessRegistry.GetLocal(registryID); ok {
			if pp, ok := p.(poolProcess); ok {
				return pp.p
			}
		}
		p := &Pool{sys: sys, max: 4 * runtime.GOMAXPROCS(0)}
		p.wake = sync.NewCond(&p.mu)
		if _, added := sys.ProcessRegistry.Add(poolProcess{p}, registryID); added {
			go p.stopWith(sys)
			return p
		}
	}
}

// poolProcess keeps the pool in the process registry; it takes no messages.
type poolProcess struct{ p *Pool }

func (poolProcess) SendUserMessage(*actor.PID, any)   {}
func (poolProcess) SendSystemMessage(*actor.PID, any) {}
func (poolProcess) Stop(*actor.PID)                   {}

// stopWith ends the workers once the actor system has stopped.
func (p *Pool) stopWith(sys *actor.ActorSystem) {
	for !sys.IsStopped() {
		time.Sleep(200 * time.Millisecond) // protoactor offers no stop signal to wait on
	}
	p.mu.Lock()
	p.stopped = true
	p.wake.Broadcast()
	p.mu.Unlock()
}

// Throughput implements actor.Dispatcher.
func (p *Pool) Throughput() int { return Throughput }

// Schedule implements actor.Dispatcher: fn runs on a worker, soon.
func (p *Pool) Schedule(fn func()) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		go fn() // the system is going: let its last messages run as protoactor would
		return
	}
	p.queue = append(p.queue, fn)
	switch {
	case p.idle > 0:
		p.wake.Signal()
	case p.workers < p.max:
		p.workers++
		go p.work()
	}
	p.mu.Unlock()
}

func (p *Pool) work() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for p.head == len(p.queue) {
			if p.stopped {
				p.workers--
				return
			}
			p.idle++
			p.wake.Wait()
			p.idle--
		}
		fn := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		switch {
		case p.head == len(p.queue):
			p.queue, p.head = p.queue[:0], 0
		case p.head >= 1024 && p.head*2 >= len(p.queue):
			// A queue that never empties: move the rest down, so it does not grow.
			n := copy(p.queue, p.queue[p.head:])
			clear(p.queue[n:])
			p.queue, p.head = p.queue[:n], 0
		}
		p.mu.Unlock()
		fn()
		p.mu.Lock()
	}
}

// Workers is how many workers run now.
func (p *Pool) Workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}
