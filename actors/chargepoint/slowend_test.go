package chargepoint_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// publishedEnds stands in for the bridge: it notes every supply end the
// engine publishes and whether the journal held that end when it came.
type publishedEnds struct {
	mu      sync.Mutex
	ends    []string // session ids, in order
	unsaved []string // ends published before the journal held them
}

func (p *publishedEnds) props(journal *slowJournal) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		pub, ok := ctx.Message().(*bridge.Publish)
		if !ok {
			return
		}
		end, ok := pub.Msg.(*messages.SupplyEnded)
		if !ok {
			return
		}
		rec, _ := journal.mem.Load()
		onDisk := rec.Session == nil && slices.Contains(rec.Done, end.GetSessionId())
		p.mu.Lock()
		defer p.mu.Unlock()
		p.ends = append(p.ends, end.GetSessionId())
		if !onDisk {
			p.unsaved = append(p.unsaved, end.GetSessionId())
		}
	})
}

func (p *publishedEnds) get() (ends, unsaved []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ends), slices.Clone(p.unsaved)
}

// An engine whose journal is slow answers its monitor's health checks at
// once while the start and the end of a supply are being saved (each save
// held the engine 1.5 s here, up to 3 s on a loaded disk: several engines
// ending supplies at once were called FAULT). The end is published once,
// and only once the journal holds it: a kill -9 before that reports it
// again from the journal after the restart, never a different one.
func TestEngineAnswersHealthChecksWhileTheEndOfASupplyIsSaved(t *testing.T) {
	sys, logger, _ := testkit.NewSystem(t)
	journal := &slowJournal{mem: chargepoint.NewMemoryJournal(), delay: 1500 * time.Millisecond}
	published := &publishedEnds{}
	stand := sys.Root.Spawn(published.props(journal))
	t.Cleanup(func() { sys.Root.Stop(stand) })
	props, err := chargepoint.Props(chargepoint.Config{CPID: "CP-001", Bridge: stand, SupplyDuration: time.Second,
		TelemetryInterval: 100 * time.Millisecond, Journal: journal, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	engine := sys.Root.Spawn(props)
	t.Cleanup(func() { sys.Root.Stop(engine) })
	now := time.Now()
	sys.Root.Send(engine, bridge.NewDelivery(bridge.TopicCommands, "CP-001", 0, 1, &messages.Command{
		CpId: "CP-001", CommandId: "C-1", SentAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(time.Minute)),
		Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: "S-1", RequestId: "R-1", DriverId: "alice"}}}, nil))

	// Fifteen checks, 300 ms apart, over the start's save, the supply (1 s),
	// the end's save and the save of its publication.
	const answerWithin = 500 * time.Millisecond
	sawSaving := false
	for seq := uint64(1); seq <= 15; seq++ {
		start := time.Now()
		res, err := sys.Root.RequestFuture(engine, &messages.HealthCheck{CpId: "CP-001", Seq: seq}, answerWithin).Result()
		if err != nil {
			ends, _ := published.get()
			t.Fatalf("health check %d: no answer within %v (%v; ends published so far: %v): the slow journal holds the engine", seq, answerWithin, err, ends)
		}
		if a, ok := res.(*messages.HealthAnswer); !ok || !a.GetOk() {
			t.Fatalf("health check %d: answer %v", seq, res)
		}
		// Meanwhile the engine no longer supplies: its end is being saved.
		if st := ask(t, sys, engine, &chargepoint.GetState{}).(*chargepoint.State); st.EndSaving == "S-1" {
			sawSaving = true
			if st.SessionID != "" || st.State != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
				t.Errorf("while the end of S-1 is saved the engine shows %v with session %q, want ACTIVATED and none", st.State, st.SessionID)
			}
		}
		time.Sleep(300*time.Millisecond - time.Since(start))
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		rec, _ := journal.mem.Load()
		ends, _ := published.get()
		return len(ends) > 0 && rec.Pending == nil && rec.Session == nil
	}, func() string {
		rec, _ := journal.mem.Load()
		ends, _ := published.get()
		return "the end of S-1 was not published and forgotten: journal " + describeRecord(rec) + ", ends published [" + strings.Join(ends, ",") + "]"
	})
	if !sawSaving {
		t.Error("the engine never showed the end of S-1 as being saved (State.EndSaving)")
	}
	ends, unsaved := published.get()
	if !slices.Equal(ends, []string{"S-1"}) {
		t.Errorf("ends published %v, want S-1 once", ends)
	}
	if len(unsaved) != 0 {
		t.Errorf("ends published before the journal held them: %v", unsaved)
	}
}

func ask(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, msg any) any {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, msg, 5*time.Second).Result()
	if err != nil {
		t.Fatalf("ask %T: %v", msg, err)
	}
	return res
}
