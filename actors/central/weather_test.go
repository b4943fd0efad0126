package central_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// startCentralWith starts Central on a store that holds n charge points,
// CP-000001..., in ten cities in turn.
func startCentralWith(t testing.TB, n int) (*central.WeatherReport, func() *central.WeatherReport, func(any)) {
	t.Helper()
	sys, logger, _ := testkit.NewSystem(t)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cities := []string{"Alicante", "Madrid", "Valencia", "Sevilla", "Bilbao", "Zaragoza", "Malaga", "Murcia", "Granada", "Vigo"}
	for i := range n {
		cp := store.ChargePoint{ID: fmt.Sprintf("CP-%06d", i+1), Location: fmt.Sprintf("%s · Calle %d", cities[i%10], i), KW: 22, PriceEURPerKWh: 0.3}
		if err := st.SaveChargePoint(context.Background(), cp); err != nil {
			t.Fatal(err)
		}
	}
	props, err := central.Props(central.Config{Store: st, Bridge: testkit.NewProbe(t, sys, nil).PID, LivenessTimeout: time.Hour, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c := sys.Root.Spawn(props)
	report := func() *central.WeatherReport {
		res, err := sys.Root.RequestFuture(c, &central.GetWeather{}, 30*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res.(*central.WeatherReport)
	}
	send := func(msg any) { sys.Root.Send(c, msg) }
	return report(), report, send
}

// The weather report counts each city's charge points (loaded from the
// store, not registered yet), lists at most 100 ids, and carries the
// readings Central read.
func TestWeatherReportCountsTheChargePointsOfEachCity(t *testing.T) {
	first, report, send := startCentralWith(t, 250)
	if len(first.Cities) != 10 {
		t.Fatalf("%d cities, want 10", len(first.Cities))
	}
	for _, c := range first.Cities {
		if c.ChargePointCount != 25 || len(c.ChargePoints) != 25 {
			t.Errorf("%s: %d charge points (%d listed), want 25", c.City, c.ChargePointCount, len(c.ChargePoints))
		}
	}
	at := time.Now()
	for i := range 3 {
		send(bridge.NewDelivery(bridge.TopicWeatherReadings, "madrid", 0, int64(i),
			&messages.WeatherReading{City: "Madrid", Celsius: float64(i), At: timestamppb.New(at.Add(time.Duration(i) * time.Second))}, func() {}))
	}
	testkit.Eventually(t, 5*time.Second, func() bool {
		for _, c := range report().Cities {
			if c.City == "Madrid" {
				return len(c.History) == 3 && c.Celsius == 2
			}
		}
		return false
	}, func() string { return "Madrid's readings are not in the report" })
}

// BenchmarkWeatherReport is one GetWeather at 100,000 charge points in ten
// cities (what /api/weather costs Central's actor).
func BenchmarkWeatherReport(b *testing.B) {
	_, report, _ := startCentralWith(b, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := report(); len(r.Cities) != 10 || r.Cities[0].ChargePointCount != 10000 {
			b.Fatalf("report: %d cities", len(r.Cities))
		}
	}
}

// A charge point that registers again from another city moves: the alert
// of its new city holds it, the cancel of its old one does not touch it.
func TestWeatherFollowsAChargePointThatMoves(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: time.Hour})
	register := func(location string) {
		r.fromMonitor(&messages.RegisterChargePoint{CpId: "CP-001", Secret: "s", Kw: 22, PriceEurPerKwh: 0.3, Location: location})
	}
	register("Alicante, Rambla 1")
	testkit.Eventually(t, wait, func() bool { return r.snapshotOf("CP-001").Location == "Alicante, Rambla 1" },
		func() string { return "CP-001 not registered" })
	r.deliver(bridge.TopicWeatherAlerts, &messages.WeatherAlert{City: "Madrid", Active: true, Celsius: -1, At: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool { return len(r.logs.Lines("Weather alert for Madrid")) == 1 },
		func() string { return "the Madrid alert was not applied" })
	if v := r.snapshotOf("CP-001"); v.State == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED {
		t.Fatalf("CP-001 in Alicante stopped by Madrid's alert: %s", v.Reason)
	}
	register("Madrid · Gran Vía 30")
	testkit.Eventually(t, wait, func() bool {
		v := r.snapshotOf("CP-001")
		return v.State == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED && v.Reason == "weather alert: Madrid \u22121 °C"
	}, func() string { return fmt.Sprintf("CP-001 moved to Madrid is %+v", r.snapshotOf("CP-001")) })
	register("Alicante, Rambla 1")
	testkit.Eventually(t, wait, func() bool { return r.snapshotOf("CP-001").Reason != "weather alert: Madrid \u22121 °C" },
		func() string { return "CP-001 moved back to Alicante is still held by Madrid's alert" })
}
