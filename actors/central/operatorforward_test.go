package central_test

import (
	"strings"
	"testing"

	"github.com/evcharging/evsim/messages"
)

// A Central of a shared group that an operator's order is passed on to
// answers it itself: for a charge point whose partition it does not own it
// says so (the group is rebalancing), for one it owns but does not know it
// answers "unknown", so that the Central that passed it on answers the
// operator "unknown charge point".
func TestSharedCentralAnswersAnOrderPassedOnToIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		parts   []int32
		unknown bool
		err     string
	}{
		{name: "owns nothing", err: "is not Central 10.0.0.1:8090's any more"},
		{name: "owns all", parts: []int32{0, 1, 2, 3, 4, 5}, unknown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, c, _ := sharedCentral(t, tc.parts...)
			res, err := sys.Root.RequestFuture(c, &messages.CentralOrder{CpId: "CP-404", Kind: messages.OrderKind_ORDER_KIND_STOP, Via: "10.0.0.2:8090"}, wait).Result()
			if err != nil {
				t.Fatal(err)
			}
			a := res.(*messages.CentralOrderResult)
			if a.GetUnknown() != tc.unknown || !strings.Contains(a.GetError(), tc.err) || a.GetAffected() != 0 || a.GetOwner() != "10.0.0.1:8090" {
				t.Errorf("answer %v, want unknown %v and an error with %q from 10.0.0.1:8090", a, tc.unknown, tc.err)
			}
		})
	}
}
