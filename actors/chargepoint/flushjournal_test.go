package chargepoint

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/logging"
)

// gatedJournal is a disk that writes nothing until the test opens it.
type gatedJournal struct {
	mem  *MemoryJournal
	open chan struct{}
}

func (j *gatedJournal) Load() (Record, error) { return j.mem.Load() }

func (j *gatedJournal) Save(r Record) error {
	<-j.open
	return j.mem.Save(r)
}

// FlushJournal closes the supply of an engine gone for good while the
// engine's last progress record is still on its way to the disk: it must
// read the journal after that record and write after it, or the record
// lands last and the journal shows the supply running again (or it reads
// no supply at all, and the driver never gets a ticket).
func TestFlushJournalWaitsForTheEnginesLastRecords(t *testing.T) {
	disk := &gatedJournal{mem: NewMemoryJournal(), open: make(chan struct{})}
	journal := WriteBehind(disk, logging.Discard(), "CP-001").(*writeBehind)
	at := time.Now()
	journal.SaveProgress(Record{Session: &SessionRecord{SessionID: "S-1", DriverID: "alice", KW: 22, Price: 0.3,
		StartedAt: at.Add(-time.Minute), LastAt: at, KWh: 0.37}}) // the write waits for the disk

	sys := actor.NewActorSystem()
	bridgePID := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	type result struct {
		sid string
		kwh float64
		err error
	}
	flushed := make(chan result, 1)
	go func() {
		end, err := FlushJournal(sys.Root, journal, "CP-001", bridgePID)
		flushed <- result{sid: end.GetSessionId(), kwh: end.GetKwh(), err: err}
	}()
	// The disk stays shut while FlushJournal may run: through the writer
	// it waits (the disk opens after 200 ms), around it it reads too early.
	var r result
	select {
	case r = <-flushed:
	case <-time.After(200 * time.Millisecond):
		close(disk.open)
		select {
		case r = <-flushed:
		case <-time.After(30 * time.Second):
			t.Fatal("FlushJournal did not return")
		}
	}
	select {
	case <-disk.open:
	default:
		close(disk.open)
	}
	if r.err != nil || r.sid != "S-1" || r.kwh != 0.37 {
		t.Fatalf("FlushJournal closed %q with %.2f kWh (err %v), want S-1 with 0.37 kWh", r.sid, r.kwh, r.err)
	}
	journal.Flush()
	rec, _ := disk.mem.Load()
	if rec.Session != nil || rec.Pending != nil || len(rec.Done) != 1 || rec.Done[0] != "S-1" {
		t.Fatalf("the journal after FlushJournal holds session %v, pending %v, done %v: want S-1 closed and published", rec.Session, rec.Pending, rec.Done)
	}
}
