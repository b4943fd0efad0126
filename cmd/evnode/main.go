// Command evnode runs one role of the charging network per process: central,
// engine, monitor, driver, site (many charge points in one process),
// drivers (many drivers in one process), registry (the Registry of charge points over
// HTTPS), enrol (registers charge points there and writes each credential
// for its monitor), certs (writes a CA and each service's certificate for
// the secured deployment), weather (the weather office), broker (a standalone embedded Kafka-protocol
// broker), wait-kafka (the readiness gate as a command) or health (a
// container's health check of one role, answered by evnode itself); and
// `evnode audit verify` checks an audit log's hash chain.
//
// The roles are the actors of evsim, one per process under a root
// supervisor. Monitor <-> engine and monitor <-> Central talk over
// protoactor's remote (gRPC): each role listens on --listen and is known to
// its peers by --advertise and a well-known actor name ("central",
// "engine"), so a peer is actor.NewPID(HOST:PORT, name) and a restarted peer
// is found again by the next message. Central, engines and drivers talk
// through Kafka via their bridge and start only once it is ready. Every flag
// also reads EVSIM_<FLAG> (KAFKA_BOOTSTRAP, KAFKA_WAIT_MAX_ATTEMPTS and
// KAFKA_WAIT_SECONDS for the Kafka flags); `evnode ROLE --help` lists them.
//
// Exit codes: 0 a clean shutdown on SIGINT/SIGTERM, 1 a runtime failure
// (Kafka never ready, a port taken, the role failed beyond its restart
// budget), 2 a usage error (one line naming the flag).
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

const usage = "usage: evnode central|engine|monitor|driver|site|drivers|registry|enrol|certs|weather|broker|wait-kafka|health|audit verify [flags]"

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
	case "site":
		return runSite(context.Background(), args[1:], getenv, stderr)
	case "drivers":
		return runDrivers(context.Background(), args[1:], getenv, stderr)
	case "broker":
		return runBroker(context.Background(), args[1:], getenv, stderr)
	case "wait-kafka":
		return runWaitKafka(context.Background(), args[1:], getenv, stderr)
	case "health":
		return runHealth(context.Background(), args[1:], getenv, stdout, stderr)
	case "registry":
		return runRegistry(context.Background(), args[1:], getenv, stderr)
	case "enrol":
		return runEnrol(context.Background(), args[1:], getenv, stderr)
	case "certs":
		return runCerts(args[1:], getenv, stderr)
	case "audit":
		return runAudit(args[1:], getenv, stdout, stderr)
	case "weather":
		return runWeather(context.Background(), args[1:], getenv, stderr)
	}
	fmt.Fprintf(stderr, "evnode: unknown command %q\n%s\n", args[0], usage)
	return 2
}
