package bridge

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

// groupMember is one process's consumer as the group's leader sees it:
// its member id and its balance strategy (what sarama calls around a
// JoinGroup and a SyncGroup).
type groupMember struct {
	id       string
	strategy sarama.BalanceStrategy
}

var sharedTopics = []string{TopicStatus, TopicTelemetry, TopicSessionEnd}

func newGroupMember(t *testing.T, id string) *groupMember {
	t.Helper()
	cfg := testConfig("127.0.0.1:1")
	return &groupMember{id: id, strategy: cfg.consumerSarama().Consumer.Group.Rebalance.GroupStrategies[0]}
}

// rebalance is one generation: every member's subscription, the first
// strategy's plan, and each member told its assignment. It returns the
// partition numbers each member got, checking that every member got the
// same numbers of each topic and every partition went to one member.
func rebalance(t *testing.T, gen int32, partitions int32, members ...*groupMember) map[string][]int32 {
	t.Helper()
	metas := map[string]sarama.ConsumerGroupMemberMetadata{}
	for _, m := range members {
		meta := sarama.ConsumerGroupMemberMetadata{Version: 1, Topics: sharedTopics}
		if p, ok := m.strategy.(sarama.SubscriptionUserDataBalanceStrategy); ok {
			data, err := p.SubscriptionUserData(sharedTopics)
			if err != nil {
				t.Fatal(err)
			}
			meta.UserData = data
		}
		metas[m.id] = meta
	}
	topics := map[string][]int32{}
	for _, tp := range sharedTopics {
		for p := range partitions {
			topics[tp] = append(topics[tp], p)
		}
	}
	plan, err := members[0].strategy.Plan(metas, topics)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int32{}
	seen := map[string]int{}
	for _, m := range members {
		a := &sarama.ConsumerGroupMemberAssignment{Topics: plan[m.id]}
		if o, ok := m.strategy.(sarama.OnAssignmentBalanceStrategy); ok {
			o.OnAssignment(a, gen)
		}
		first := slices.Sorted(slices.Values(plan[m.id][sharedTopics[0]]))
		for _, tp := range sharedTopics {
			ps := slices.Sorted(slices.Values(plan[m.id][tp]))
			if !slices.Equal(ps, first) {
				t.Fatalf("generation %d: %s got %v of %s but %v of %s", gen, m.id, first, sharedTopics[0], ps, tp)
			}
			for _, p := range ps {
				seen[fmt.Sprint(tp, p)]++
			}
		}
		got[m.id] = first
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("generation %d: %s given %d times: %v", gen, k, n, got)
		}
	}
	if len(seen) != len(sharedTopics)*int(partitions) {
		t.Fatalf("generation %d: %d of %d partitions given: %v", gen, len(seen), len(sharedTopics)*int(partitions), got)
	}
	return got
}

func balanced(got map[string][]int32) bool {
	counts := slices.Collect(maps.Values(got))
	lo, hi := len(counts[0]), len(counts[0])
	for _, c := range counts {
		lo, hi = min(lo, len(c)), max(hi, len(c))
	}
	return hi-lo <= 1
}

// A Central whose session expired while the group's coordinator (a Kafka
// node) was down joins again under a new member id. Range orders members
// by id: with the new id sorting first, the two Centrals were given each
// other's partitions, and each dropped its charge points and loaded the
// other's (seen after a Kafka node's crash: 7 DISCONNECTED, 33 charge
// points at no Central 13 s later). The bridge's strategy keeps each
// member's partitions, the same numbers of every topic.
func TestConsumerGroupsKeepPartitionsWhenAMemberComesBackUnderANewID(t *testing.T) {
	one, two := newGroupMember(t, "evsim-m"), newGroupMember(t, "evsim-z")
	before := rebalance(t, 4, 6, one, two)
	two.id = "evsim-a" // the same process, a new member id
	after := rebalance(t, 5, 6, one, two)
	if !slices.Equal(after["evsim-m"], before["evsim-m"]) || !slices.Equal(after["evsim-a"], before["evsim-z"]) {
		t.Fatalf("partitions moved: before %v, after %v", before, after)
	}
}

// While the coordinator moves, one member may form a generation alone
// and get every partition; when the other joins again, each gets back
// what it had (the later generation's holder gives up, first, what the
// other asks for), not an arbitrary half.
func TestConsumerGroupsGiveBackWhatAMemberHadBeforeAGenerationWithoutIt(t *testing.T) {
	one, two := newGroupMember(t, "evsim-m"), newGroupMember(t, "evsim-z")
	before := rebalance(t, 4, 6, one, two)
	alone := rebalance(t, 5, 6, two)
	if len(alone["evsim-z"]) != 6 {
		t.Fatalf("alone in its generation, a member gets every partition: %v", alone)
	}
	one.id = "evsim-zz" // sorts after the other now
	after := rebalance(t, 6, 6, one, two)
	if !slices.Equal(after["evsim-zz"], before["evsim-m"]) || !slices.Equal(after["evsim-z"], before["evsim-z"]) {
		t.Fatalf("partitions moved: before %v, after %v", before, after)
	}
}

// A new member (a Central started, or restarted with no memory) gets its
// share, taken from the others' without moving any other partition; a
// member that leaves hands out only its own.
func TestConsumerGroupsMoveOnlyAShareWhenMembersComeAndGo(t *testing.T) {
	a, b, c := newGroupMember(t, "evsim-a"), newGroupMember(t, "evsim-b"), newGroupMember(t, "evsim-c")
	two := rebalance(t, 1, 6, a, b)
	three := rebalance(t, 2, 6, a, b, c)
	if !balanced(three) || len(three["evsim-c"]) != 2 {
		t.Fatalf("three members, six partitions: %v", three)
	}
	for _, id := range []string{"evsim-a", "evsim-b"} {
		for _, p := range three[id] {
			if !slices.Contains(two[id], p) {
				t.Fatalf("%s got %d, which was another's: before %v, after %v", id, p, two, three)
			}
		}
	}
	left := rebalance(t, 3, 6, b, c)
	for _, id := range []string{"evsim-b", "evsim-c"} {
		for _, p := range three[id] {
			if !slices.Contains(left[id], p) {
				t.Fatalf("%s lost %d when another member left: before %v, after %v", id, p, three, left)
			}
		}
	}
	if !balanced(left) {
		t.Fatalf("not balanced: %v", left)
	}
}
