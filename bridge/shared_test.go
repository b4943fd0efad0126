package bridge

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// assignments records the *Assigned a subscriber of a shared consumption gets.
type assignments struct {
	mu  sync.Mutex
	all []*Assigned
}

func (a *assignments) receive(c actor.Context) {
	if m, ok := c.Message().(*Assigned); ok {
		a.mu.Lock()
		a.all = append(a.all, m)
		a.mu.Unlock()
	}
}

func (a *assignments) last() *Assigned {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.all) == 0 {
		return nil
	}
	return a.all[len(a.all)-1]
}

func (tb *testBridge) subscribeShared(t *testing.T, name, group string, topics []string) *assignments {
	t.Helper()
	a := &assignments{}
	pid := tb.system.Root.Spawn(actor.PropsFromFunc(a.receive))
	tb.system.Root.Send(tb.pid, &Subscribe{Topic: name, Group: group, Topics: topics, Subscriber: pid})
	return a
}

// Two processes that read three topics as one shared consumption get the
// same partitions of each topic, between them every partition once, and
// are told so (with the partition counts) on every rebalance; when one
// stops, the other gets them all.
func TestSharedConsumptionSplitsTopicsAlike(t *testing.T) {
	addr := startEmbedded(t, EmbeddedOptions{}).Addr()
	cfg := testConfig(addr)
	cfg.Partitions = 6
	topics := []string{uniqueName(t, "a"), uniqueName(t, "b"), uniqueName(t, "c")}
	cfg.Topics = topics
	cfg.GroupSessionTimeout = 2 * time.Second
	group := uniqueName(t, "group")
	one, two := startBridge(t, cfg), startBridge(t, cfg)
	one.awaitState(t, StateReady, 30*time.Second)
	two.awaitState(t, StateReady, 30*time.Second)
	a1 := one.subscribeShared(t, "shared", group, topics)
	a2 := two.subscribeShared(t, "shared", group, topics)

	split := func() (bool, string) {
		x, y := a1.last(), a2.last()
		if x == nil || y == nil || x.Generation != y.Generation {
			return false, "not both in one generation yet"
		}
		var all []int32
		for _, m := range []*Assigned{x, y} {
			first := m.Partitions[topics[0]]
			for _, tp := range topics {
				if !slices.Equal(m.Partitions[tp], first) || m.PartitionCounts[tp] != 6 {
					return false, "partitions differ between topics"
				}
			}
			all = append(all, first...)
		}
		slices.Sort(all)
		return slices.Equal(all, []int32{0, 1, 2, 3, 4, 5}) && len(x.Partitions[topics[0]]) == 3, "not split 3 and 3"
	}
	eventually(t, 30*time.Second, "the six partitions of each topic split alike between the two", func() bool {
		ok, _ := split()
		return ok
	})
	_ = one.system.Root.StopFuture(one.pid).Wait()
	eventually(t, 30*time.Second, "the other gets every partition once the first stops", func() bool {
		m := a2.last()
		return m != nil && len(m.Partitions[topics[2]]) == 6
	})
}

// A session the broker refuses is a WARN naming the flag, not silence
// (sarama's error was at DEBUG: a shared Central waited with no word).
func TestRefusedGroupSessionIsAWarningNamingTheFlag(t *testing.T) {
	addr := startEmbedded(t, EmbeddedOptions{MinSessionTimeout: 6 * time.Second}).Addr()
	cfg := testConfig(addr)
	cfg.Topics = []string{uniqueName(t, "a"), uniqueName(t, "b")}
	cfg.GroupSessionTimeout = 2 * time.Second
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 30*time.Second)
	tb.subscribeShared(t, "shared", uniqueName(t, "group"), cfg.Topics)
	eventually(t, 30*time.Second, "a WARN about the refused session", func() bool {
		for _, l := range tb.log.Lines("--group-session-timeout") {
			if strings.Contains(l, "WARN") && strings.Contains(l, "2s") {
				return true
			}
		}
		return false
	})
}
