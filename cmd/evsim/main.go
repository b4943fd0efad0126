// Command evsim runs the whole charging network in one process: Central, the
// charge points (engine + monitor each) and the drivers, on an embedded
// Kafka-protocol broker unless --brokers names a real one.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/evcharging/evsim/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run is main without the exit, so tests can drive it.
func run(args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	cfg, err := config.ParseSim(args, getenv)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "evsim: %v\n", err)
		return 2
	}
	_ = cfg
	fmt.Fprintln(stderr, "evsim: the network is not wired up yet")
	return 1
}
