package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/internal/words"
)

// Network is what operator commands, scenarios and chaos act on: Central's
// panel for stop/resume/KO, and the run-time hooks that kill and restart parts.
type Network interface {
	Panel() central.Panel
	PanicEngine(ctx context.Context, cpID string) error
	KillMonitor(ctx context.Context, cpID string) error
	StartMonitor(ctx context.Context, cpID string) error
	KillDriver(ctx context.Context, driverID string) error
	StartDriver(ctx context.Context, driverID string) error
	RestartCentral(ctx context.Context) error
}

// WeatherSetter is a Network whose weather office takes temperatures (the
// file provider): the weather command sets a city's.
type WeatherSetter interface {
	SetWeather(ctx context.Context, city string, celsius float64) error
}

// Execute carries out one command and returns a sentence saying what it did.
func Execute(ctx context.Context, n Network, c Command) (string, error) {
	target := c.Target
	if target == "all" {
		target = ""
	}
	operator := func(res *central.OperatorResult, err error) (string, error) {
		if err != nil {
			return "", fmt.Errorf("%s: %w", c, err)
		}
		if res.Err != "" {
			return "", fmt.Errorf("%s: %s", c, res.Err)
		}
		if res.Affected == 1 {
			return fmt.Sprintf("%s: done (1 charge point)", c), nil
		}
		return fmt.Sprintf("%s: done (%s)", c, words.Count(res.Affected, "charge point", "charge points")), nil
	}
	simple := func(err error) (string, error) {
		if err != nil {
			return "", fmt.Errorf("%s: %w", c, err)
		}
		return fmt.Sprintf("%s: done", c), nil
	}
	switch c.Verb {
	case VerbStop:
		return operator(n.Panel().Stop(ctx, target))
	case VerbResume:
		return operator(n.Panel().Resume(ctx, target))
	case VerbKO:
		return operator(n.Panel().KnockOut(ctx, target, true))
	case VerbUnKO:
		return operator(n.Panel().KnockOut(ctx, target, false))
	case VerbPanicEngine:
		return simple(n.PanicEngine(ctx, target))
	case VerbKillMonitor:
		return simple(n.KillMonitor(ctx, target))
	case VerbStartMonitor:
		return simple(n.StartMonitor(ctx, target))
	case VerbKillDriver:
		return simple(n.KillDriver(ctx, target))
	case VerbStartDriver:
		return simple(n.StartDriver(ctx, target))
	case VerbRestartCentral:
		return simple(n.RestartCentral(ctx))
	case VerbWeather:
		w, ok := n.(WeatherSetter)
		if !ok {
			return "", fmt.Errorf("%s: this run has no weather office that takes temperatures", c)
		}
		city, celsius, err := c.Weather()
		if err != nil {
			return "", fmt.Errorf("%s: %w", c, err)
		}
		return simple(w.SetWeather(ctx, city, celsius))
	}
	return "", fmt.Errorf("unknown command %q", c.Verb)
}

// RunScenario carries out steps at their offsets from start until ctx ends.
// Each step is one INFO line (or one WARN if it failed).
func RunScenario(ctx context.Context, n Network, steps []Step, start time.Time, log logrus.FieldLogger) {
	for _, s := range steps {
		wait := time.Until(start.Add(s.At))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		did, err := Execute(ctx, n, s.Command)
		if err != nil {
			log.WithField("line", s.Line).Warnf("Scenario step at %s failed: %v", s.At, err)
			continue
		}
		log.WithField("line", s.Line).Infof("Scenario step at %s: %s", s.At, did)
	}
}

// ChaosConfig sets the chance, per engine and per second, of a panic or a KO.
type ChaosConfig struct {
	PanicRate float64
	KORate    float64
	// KOMin and KOMax bound how long a KO lasts before it clears.
	KOMin, KOMax time.Duration
	Seed         int64
	Tick         time.Duration // default 1 s
}

// ChaosEvent is one fault chaos decided on.
type ChaosEvent struct {
	Tick   int
	CPIdx  int
	Panic  bool          // else a KO
	Length time.Duration // how long a KO lasts
}

// ChaosPlan decides, for tick number tick, which of cps engines fail. The
// same seed gives the same faults, whatever the timing of the run.
func ChaosPlan(cfg ChaosConfig, tick, cps int) []ChaosEvent {
	if cfg.PanicRate <= 0 && cfg.KORate <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(tick)))
	var out []ChaosEvent
	for i := 0; i < cps; i++ {
		p, k := rng.Float64(), rng.Float64()
		length := cfg.KOMin
		if cfg.KOMax > cfg.KOMin {
			length += time.Duration(rng.Int64N(int64(cfg.KOMax - cfg.KOMin)))
		}
		switch {
		case p < cfg.PanicRate:
			out = append(out, ChaosEvent{Tick: tick, CPIdx: i, Panic: true})
		case k < cfg.KORate:
			out = append(out, ChaosEvent{Tick: tick, CPIdx: i, Length: length})
		}
	}
	return out
}

// RunChaos applies ChaosPlan every tick until ctx ends. cpID names the i-th
// charge point. A KO clears by itself after its length.
func RunChaos(ctx context.Context, n Network, cfg ChaosConfig, cps int, cpID func(int) string, log logrus.FieldLogger) {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.KOMin <= 0 {
		cfg.KOMin, cfg.KOMax = 3*time.Second, 8*time.Second
	}
	ticker := time.NewTicker(cfg.Tick)
	defer ticker.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, ev := range ChaosPlan(cfg, tick, cps) {
			id := cpID(ev.CPIdx)
			if ev.Panic {
				log.WithField("cp_id", id).Info("Chaos: crashing the engine of " + id)
				if err := n.PanicEngine(ctx, id); err != nil {
					log.WithField("cp_id", id).Debugf("Chaos panic not applied: %v", err)
				}
				continue
			}
			log.WithField("cp_id", id).Infof("Chaos: KO of %s for %s", id, ev.Length)
			if _, err := n.Panel().KnockOut(ctx, id, true); err != nil {
				continue
			}
			time.AfterFunc(ev.Length, func() {
				// The run may be over; a context that ended makes this a no-op.
				if ctx.Err() == nil {
					n.Panel().KnockOut(ctx, id, false)
				}
			})
		}
	}
}
