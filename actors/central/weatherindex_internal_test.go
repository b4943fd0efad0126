package central

import (
	"fmt"
	"testing"

	"github.com/evcharging/evsim/internal/store"
)

// A registration places its charge point in its city and looks through no
// other: each one scanning every charge point made the registration of N
// charge points cost N² map reads in Central's actor (at 10,000 charge
// points, most of Central's CPU while they registered).
func TestRegistrationsDoNotRescanEveryChargePoint(t *testing.T) {
	c := &Central{cps: map[string]*cpEntry{}}
	for i := range 2000 {
		id := fmt.Sprintf("CP-%04d", i)
		cp := &cpEntry{reg: store.ChargePoint{ID: id, Location: "Alicante"}}
		c.cps[id] = cp
		c.weatherOnRegister(nil, cp)
	}
	if n := c.wx().rescans; n > 1 {
		t.Fatalf("2,000 registrations looked through every charge point %d times, want at most once", n)
	}
	if got := len(c.indexed().ids("alicante")); got != 2000 {
		t.Fatalf("%d charge points in Alicante, want 2000", got)
	}
}
