package central

import (
	"testing"
	"time"
)

// A batch closes a window after its latest charge point, or after
// nodeLinesCap windows when charge points keep joining.
func TestNodeBatchClosesAfterTheCapWhenGrowing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &nodeLines{window: time.Second, open: map[nodeCause]*nodeBatch{}}
	key := nodeCause{node: "10.0.0.7:9300", cause: "DISCONNECTED"}
	for i := range 3 * nodeLinesCap {
		now := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		l.add(key, "CP", time.Second, now, func() {})
		if got := l.due(now); len(got) > 0 {
			if i != 2*nodeLinesCap {
				t.Fatalf("batch closed after %d adds, want %d (nodeLinesCap windows)", i+1, 2*nodeLinesCap+1)
			}
			return
		}
	}
	t.Fatal("a growing batch never closed")
}

func TestNodeBatchClosesAWindowAfterTheLatest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &nodeLines{window: time.Second, open: map[nodeCause]*nodeBatch{}}
	key := nodeCause{node: "10.0.0.7:9300", cause: "DISCONNECTED"}
	l.add(key, "CP-1", time.Second, t0, func() {})
	l.add(key, "CP-2", 2*time.Second, t0.Add(800*time.Millisecond), func() {})
	if got := l.due(t0.Add(1500 * time.Millisecond)); len(got) != 0 {
		t.Errorf("closed %v 700ms after its latest, want open for a window", got)
	}
	if got := l.due(t0.Add(1800 * time.Millisecond)); len(got) != 1 || got[0] != key {
		t.Errorf("due a window after its latest: got %v", got)
	}
	if b := l.open[key]; len(b.ids) != 2 || b.longest != 2*time.Second {
		t.Errorf("batch %+v: want 2 ids, longest silence 2s", b)
	}
}
