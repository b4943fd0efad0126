// Command evnode runs one role of the charging network per process: central,
// engine, monitor, driver, broker (a standalone embedded Kafka-protocol
// broker) or wait-kafka (the readiness gate as a command).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

const usage = "usage: evnode central|engine|monitor|driver|broker|wait-kafka [flags]"

func run(args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	case "central":
		return runCentral(context.Background(), args[1:], getenv, stderr)
	case "engine":
		return runEngine(context.Background(), args[1:], getenv, stderr)
	case "monitor":
		return runMonitor(context.Background(), args[1:], getenv, stderr)
	case "driver":
		return runDriver(context.Background(), args[1:], getenv, stderr)
	case "broker":
		return runBroker(context.Background(), args[1:], getenv, stderr)
	case "wait-kafka":
		return runWaitKafka(context.Background(), args[1:], getenv, stderr)
	}
	fmt.Fprintf(stderr, "evnode: unknown command %q\n%s\n", args[0], usage)
	return 2
}
