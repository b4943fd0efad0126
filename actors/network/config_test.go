package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/internal/store"
)

func TestDefaultsAreTheRules(t *testing.T) {
	c := network.DefaultConfig()
	if c.KW != 22 || c.PriceEURPerKWh != 0.30 || c.TelemetryInterval != time.Second || c.HealthInterval != time.Second ||
		c.LivenessTimeout != 3*time.Second || c.DriverPause != 4*time.Second || c.Budget.MaxRestarts != 5 || c.Budget.Window != 30*time.Second {
		t.Fatalf("defaults differ from rules.md: %+v", c)
	}
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	br := actor.NewPID(sys.Address(), "bridge")
	cases := map[string]network.Config{
		"no bridge":       {Store: st},
		"no store":        {Bridge: br},
		"repeated":        {Bridge: br, Store: st, ChargePoints: []network.ChargePoint{{ID: "CP-001"}, {ID: "CP-001"}}},
		"empty or repeat": {Bridge: br, Store: st, Drivers: []network.Driver{{ID: ""}}},
		"LivenessTimeout": {Bridge: br, Store: st, HealthInterval: time.Second, LivenessTimeout: 500 * time.Millisecond},
	}
	for want, c := range cases {
		if _, err := network.Start(sys, c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
