package chargepoint

import "sync"

// writeBehind keeps a slow journal (a file: each save is an fsync) off the
// engine's mailbox for the progress saved on every telemetry tick. On a
// busy disk one fsync took 2.9 s on the test machine; saved in the actor,
// it held back the monitor's health checks and a supplying engine was
// called FAULT. Progress is written by a goroutine of its own (newest
// record wins; none runs while nothing waits), so the engine answers at
// once. Every other save (a start, an end, a published end) is durable
// before the engine goes on, as before, and never overtaken by an older
// progress record: it drops the progress not yet written and waits for the
// one being written. A kill -9 may so lose the last progress records: the
// interrupted supply is then reported with the energy of an earlier tick.
type writeBehind struct {
	Journal

	mu   sync.Mutex
	idle *sync.Cond
	next *Record // progress not yet written
	busy bool    // a write runs
	err  func(error)
}

// newWriteBehind wraps j; errors of progress writes go to onErr.
func newWriteBehind(j Journal, onErr func(error)) *writeBehind {
	w := &writeBehind{Journal: j, err: onErr}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// SaveProgress writes r soon, on a goroutine of its own.
func (w *writeBehind) SaveProgress(r Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next = &r
	if !w.busy {
		w.busy = true
		go w.drain()
	}
}

func (w *writeBehind) drain() {
	for {
		w.mu.Lock()
		r := w.next
		w.next = nil
		if r == nil {
			w.busy = false
			w.idle.Broadcast()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		if err := w.Journal.Save(*r); err != nil && w.err != nil {
			w.err(err)
		}
	}
}

// Save writes r now, after the progress write that runs (if any).
func (w *writeBehind) Save(r Record) error {
	w.mu.Lock()
	w.next = nil // r is newer than any progress not yet written
	for w.busy {
		w.idle.Wait()
	}
	w.busy = true
	w.mu.Unlock()
	err := w.Journal.Save(r)
	w.mu.Lock()
	w.busy = false
	w.idle.Broadcast()
	w.mu.Unlock()
	return err
}

// Load reads the journal once no write runs.
func (w *writeBehind) Load() (Record, error) {
	w.Flush()
	return w.Journal.Load()
}

// Flush waits until every progress record handed over is written.
func (w *writeBehind) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.busy || w.next != nil {
		w.idle.Wait()
	}
}
