package weather

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/stats"
)

// SupervisorName is the name of the office's supervisor; the office is its
// child ActorName.
const SupervisorName = "weather-office"

// Start spawns the weather office under a supervisor of its own, which
// restarts it within budget (a restart reads every city again and publishes
// each city's alert state anew).
func Start(sys *actor.ActorSystem, cfg Config, budget supervision.Budget, run *stats.Run) (*actor.PID, error) {
	props, err := Props(cfg)
	if err != nil {
		return nil, err
	}
	sup, err := supervision.Props(supervision.Config{Display: "Weather office", Budget: budget, Logger: cfg.Logger, Stats: run,
		Children: []supervision.Child{{Name: ActorName, Display: "Weather office", Props: props}}})
	if err != nil {
		return nil, err
	}
	return sys.Root.SpawnNamed(sup, SupervisorName)
}
