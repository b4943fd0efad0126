package bridge

import (
	"encoding/binary"
	"maps"
	"slices"
	"sync"

	"github.com/IBM/sarama"
)

// keptRange is the balance strategy of the bridge's consumer groups:
// range's promise, plus stickiness.
//
// Range's promise: a member gets the same partition numbers of every topic
// it reads, so that the topics of a shared consumption split alike (a
// charge point's records of cp.status and cp.session_end reach one
// Central). Sarama's sticky strategy balances topic-partitions one by one
// and does not keep that promise.
//
// Stickiness: range orders the members by member id, and a member that
// joins again after its session expired (e.g. while the group's
// coordinator, a Kafka node, died) has a new id: range then gave two
// Centrals each other's partitions, and each dropped its charge points
// and loaded the other's (DISCONNECTED until their monitors came, some
// at no Central for seconds). keptRange gives each member the partitions
// it owned before, as far as the balance allows: every member tells, in
// its subscription's user data, the partitions it last got and in which
// generation; of two members that claim a partition the later
// generation's keeps it.
type keptRange struct {
	mu    sync.Mutex
	gen   int32
	owned []int32
}

// keptRangeName is the strategy's name in the group protocol; members that
// do not know it (older builds) agree on range, named after it.
const keptRangeName = "evsim-kept-range"

func newKeptRange() *keptRange { return &keptRange{} }

func (s *keptRange) Name() string { return keptRangeName }

// SubscriptionUserData tells the leader what this member last got.
func (s *keptRange) SubscriptionUserData([]string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return encodeKept(s.gen, s.owned), nil
}

// OnAssignment notes what this member got, for its next subscription.
func (s *keptRange) OnAssignment(a *sarama.ConsumerGroupMemberAssignment, gen int32) {
	var owned []int32
	for _, ps := range a.Topics {
		for _, p := range ps {
			if !slices.Contains(owned, p) {
				owned = append(owned, p)
			}
		}
	}
	slices.Sort(owned)
	s.mu.Lock()
	s.gen, s.owned = gen, owned
	s.mu.Unlock()
}

func (s *keptRange) AssignmentData(string, map[string][]int32, int32) ([]byte, error) {
	return nil, nil
}

// Plan gives out partition numbers (the union of the topics'), each to one
// member, balanced as range does (counts differ by one at most); then each
// topic's partition p goes to the member of number p. When the members do
// not all read the same topics, it is plain range.
func (s *keptRange) Plan(members map[string]sarama.ConsumerGroupMemberMetadata, topics map[string][]int32) (sarama.BalanceStrategyPlan, error) {
	ids := slices.Sorted(maps.Keys(members))
	if len(ids) == 0 {
		return sarama.BalanceStrategyPlan{}, nil
	}
	for _, id := range ids[1:] {
		if !sameTopics(members[id].Topics, members[ids[0]].Topics) {
			return sarama.NewBalanceStrategyRange().Plan(members, topics)
		}
	}
	var numbers []int32
	for _, ps := range topics {
		for _, p := range ps {
			if !slices.Contains(numbers, p) {
				numbers = append(numbers, p)
			}
		}
	}
	slices.Sort(numbers)
	claims := map[string]keptClaim{}
	for _, id := range ids {
		claims[id] = decodeKept(members[id].UserData)
	}
	owner := keepPartitions(ids, numbers, claims)
	plan := make(sarama.BalanceStrategyPlan, len(ids))
	for topic, ps := range topics {
		for _, p := range ps {
			plan.Add(owner[p], topic, p)
		}
	}
	return plan, nil
}

// keptClaim is what a member says it last got.
type keptClaim struct {
	gen   int32
	parts []int32
}

// keepPartitions gives each of numbers to one of ids (sorted): balanced as
// range, each member keeping what it claims as far as its share allows.
func keepPartitions(ids []string, numbers []int32, claims map[string]keptClaim) map[int32]string {
	// The holder of a number: of its claimants, the latest generation's
	// (then the lowest id); the others' claims are older, kept as wishes.
	holder := map[int32]string{}
	for _, id := range ids {
		for _, p := range claims[id].parts {
			if !slices.Contains(numbers, p) {
				continue
			}
			if h, ok := holder[p]; !ok || claims[id].gen > claims[h].gen {
				holder[p] = id
			}
		}
	}
	held := map[string][]int32{}
	for _, p := range numbers {
		if h, ok := holder[p]; ok {
			held[h] = append(held[h], p)
		}
	}
	// Shares as range's: base each, one more for the first extra members;
	// those extra go to the members that hold the most.
	base, extra := len(numbers)/len(ids), len(numbers)%len(ids)
	order := slices.Clone(ids)
	slices.SortStableFunc(order, func(a, b string) int { return len(held[b]) - len(held[a]) })
	share := map[string]int{}
	for i, id := range order {
		share[id] = base
		if i < extra {
			share[id]++
		}
	}
	wished := func(id string, p int32) bool { return slices.Contains(claims[id].parts, p) }
	claimedByAnother := func(id string, p int32) bool {
		for _, other := range ids {
			if other != id && wished(other, p) {
				return true
			}
		}
		return false
	}
	owner := map[int32]string{}
	count := map[string]int{}
	for _, id := range ids {
		// Over its share, a member keeps first what no other member asks for.
		mine := held[id]
		slices.SortStableFunc(mine, func(a, b int32) int {
			return boolInt(claimedByAnother(id, a)) - boolInt(claimedByAnother(id, b))
		})
		for _, p := range mine[:min(len(mine), share[id])] {
			owner[p] = id
			count[id]++
		}
	}
	// What is left: first to a member with room that asked for it, then in
	// order to the members with room.
	for _, p := range numbers {
		if _, ok := owner[p]; ok {
			continue
		}
		for _, id := range ids {
			if count[id] < share[id] && wished(id, p) {
				owner[p] = id
				count[id]++
				break
			}
		}
	}
	for _, p := range numbers {
		if _, ok := owner[p]; ok {
			continue
		}
		for _, id := range ids {
			if count[id] < share[id] {
				owner[p] = id
				count[id]++
				break
			}
		}
	}
	return owner
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sameTopics(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// keptVersion leads the user data, so that its layout can change.
const keptVersion = 1

// encodeKept is the user data: version, generation, count, partitions.
func encodeKept(gen int32, parts []int32) []byte {
	out := make([]byte, 0, 9+4*len(parts))
	out = append(out, keptVersion)
	out = binary.BigEndian.AppendUint32(out, uint32(gen))
	out = binary.BigEndian.AppendUint32(out, uint32(len(parts)))
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(p))
	}
	return out
}

// decodeKept reads encodeKept's user data; anything else claims nothing.
func decodeKept(data []byte) keptClaim {
	if len(data) < 9 || data[0] != keptVersion {
		return keptClaim{gen: -1}
	}
	gen := int32(binary.BigEndian.Uint32(data[1:]))
	n := int(binary.BigEndian.Uint32(data[5:]))
	if n < 0 || len(data) != 9+4*n {
		return keptClaim{gen: -1}
	}
	parts := make([]int32, n)
	for i := range parts {
		parts[i] = int32(binary.BigEndian.Uint32(data[9+4*i:]))
	}
	return keptClaim{gen: gen, parts: parts}
}
