package main

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/config"
)

// centralPIDs turns --central (one HOST:PORT, or several of one shared
// group) into the Central a monitor talks to first and the others it turns
// to when that one is silent.
func centralPIDs(list string) (*actor.PID, []*actor.PID) {
	var pids []*actor.PID
	for _, a := range config.SplitList(list) {
		pids = append(pids, actor.NewPID(a, centralName))
	}
	if len(pids) == 0 {
		return nil, nil
	}
	return pids[0], pids[1:]
}
