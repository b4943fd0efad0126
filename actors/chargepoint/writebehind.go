package chargepoint

import (
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/internal/logging"
)

// writeBehind keeps a slow journal (a file: each save is an fsync) off the
// engine's mailbox. On a busy disk one fsync took 2.9 s on the test
// machine; saved in the actor, it held back the monitor's health checks and
// the engine was called FAULT (first by the progress of every telemetry
// tick, then by the starts and ends of supplies, several engines at once).
// Every record is written by a goroutine of its own, one at a time, in the
// order handed over; a record not yet written is replaced by a newer one
// (a record is the engine's whole state, so the newest holds everything
// before it), and whoever waits for the older one is told once the newer
// is on disk (SaveThen). A kill -9 may so lose the records not yet written:
// what was not on disk was never published (engine.go publishes a start or
// an end only once its record is durable), and the interrupted supply is
// reported from the last record that is.
type writeBehind struct {
	Journal

	mu    sync.Mutex
	idle  *sync.Cond
	next  *Record           // not yet written
	then  []func(err error) // told once next (or a newer record) is written
	busy  bool              // a write runs
	onErr func(error)
}

// WriteBehind wraps a slow journal (a FileJournal) so that an engine hands
// its records over without waiting for the disk. Give the same wrapped
// journal to the engine (Config.Journal) and to FlushJournal: records then
// land in the order they were made, whoever made them. Errors of writes are
// logged as one WARN line for the charge point cpID.
func WriteBehind(j Journal, logger logrus.FieldLogger, cpID string) Journal {
	if _, ok := j.(*writeBehind); ok {
		return j
	}
	if logger == nil {
		logger = logging.Discard()
	}
	log := logging.NewLazy(logger, "Engine ", "cp_id", cpID)
	return newWriteBehind(j, func(err error) {
		log.Entry().WithError(err).Warn("Could not write the engine journal")
	})
}

// newWriteBehind wraps j; errors of writes go to onErr.
func newWriteBehind(j Journal, onErr func(error)) *writeBehind {
	w := &writeBehind{Journal: j, onErr: onErr}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// SaveProgress writes r soon, on a goroutine of its own.
func (w *writeBehind) SaveProgress(r Record) { w.SaveThen(r, nil) }

// SaveThen writes r soon, on a goroutine of its own, and then calls then
// (if not nil) on that goroutine with the write's error, once r or a newer
// record is on disk. An error told to then is not logged here.
func (w *writeBehind) SaveThen(r Record, then func(err error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next = &r
	if then != nil {
		w.then = append(w.then, then)
	}
	if !w.busy {
		w.busy = true
		go w.drain()
	}
}

func (w *writeBehind) drain() {
	for {
		w.mu.Lock()
		r, then := w.next, w.then
		w.next, w.then = nil, nil
		if r == nil {
			w.busy = false
			w.idle.Broadcast()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		err := w.Journal.Save(*r)
		if err != nil && len(then) == 0 && w.onErr != nil {
			w.onErr(err) // nobody waits to hear it
		}
		for _, f := range then {
			f(err)
		}
	}
}

// Save writes r after every record handed over before it, and returns once
// r (or a newer record) is on disk.
func (w *writeBehind) Save(r Record) error {
	written := make(chan error, 1)
	w.SaveThen(r, func(err error) { written <- err })
	return <-written
}

// Load reads the journal once every record handed over is written.
func (w *writeBehind) Load() (Record, error) {
	w.Flush()
	return w.Journal.Load()
}

// Flush waits until every record handed over is written (and whoever
// waited for it was told).
func (w *writeBehind) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.busy || w.next != nil {
		w.idle.Wait()
	}
}
