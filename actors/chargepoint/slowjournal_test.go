package chargepoint_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// slowJournal is a journal on a busy disk: every save takes delay, as an
// fsync took up to 2.9 s on a loaded machine.
type slowJournal struct {
	mem   *chargepoint.MemoryJournal
	delay time.Duration
	saves atomic.Int64
}

func (j *slowJournal) Load() (chargepoint.Record, error) { return j.mem.Load() }

func (j *slowJournal) Save(r chargepoint.Record) error {
	time.Sleep(j.delay)
	j.saves.Add(1)
	return j.mem.Save(r)
}

// A supplying engine whose journal is slow answers its monitor's health
// checks at once: the progress it journals on every telemetry tick must
// not hold its mailbox (that read as "engine not answering health checks",
// a false FAULT that ended the supply). Its supply still ends in the
// journal, and what it journals last is the end.
func TestEngineAnswersHealthChecksWhileItsJournalIsSlow(t *testing.T) {
	h := testkit.New(t)
	journal := &slowJournal{mem: chargepoint.NewMemoryJournal(), delay: 1500 * time.Millisecond}
	props, err := chargepoint.Props(chargepoint.Config{CPID: "CP-001", Bridge: h.Bridge, SupplyDuration: 6 * time.Second,
		TelemetryInterval: 100 * time.Millisecond, Journal: journal, Group: "engine-slow-journal", Logger: h.Logger, Stats: h.Stats})
	if err != nil {
		t.Fatal(err)
	}
	engine := h.Sys.Root.Spawn(props)
	now := time.Now()
	h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicCommands, Key: "CP-001", Msg: &messages.Command{
		CpId: "CP-001", CommandId: "C-1", SentAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(time.Minute)),
		Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: "S-1", RequestId: "R-1", DriverId: "alice"}}}})
	testkit.Eventually(t, 30*time.Second, func() bool {
		return h.Ask(engine, &chargepoint.GetState{}).(*chargepoint.State).SessionID == "S-1"
	}, func() string { return "the supply did not start" })

	// Ten checks, 300 ms apart, over ticks that each journal the progress.
	const answerWithin = 500 * time.Millisecond
	for seq := uint64(1); seq <= 10; seq++ {
		start := time.Now()
		res, err := h.Sys.Root.RequestFuture(engine, &messages.HealthCheck{CpId: "CP-001", Seq: seq}, answerWithin).Result()
		if err != nil {
			t.Fatalf("health check %d: no answer within %v (%v): the slow journal holds the engine", seq, answerWithin, err)
		}
		if a, ok := res.(*messages.HealthAnswer); !ok || !a.GetOk() || a.GetSessionId() != "S-1" {
			t.Fatalf("health check %d: answer %v", seq, res)
		}
		time.Sleep(300*time.Millisecond - time.Since(start))
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		rec, _ := journal.mem.Load()
		return rec.Session == nil && len(rec.Done) == 1 && rec.Done[0] == "S-1"
	}, func() string {
		rec, _ := journal.mem.Load()
		return "the journal does not hold the end of S-1: " + describeRecord(rec)
	})
	if n := journal.saves.Load(); n >= 60 {
		t.Errorf("%d slow saves for a 6 s supply ticking every 100 ms: progress is not coalesced", n)
	}
}

func describeRecord(r chargepoint.Record) string {
	s := "session="
	if r.Session != nil {
		s += r.Session.SessionID
	}
	return s + " done=" + strings.Join(r.Done, ",")
}
