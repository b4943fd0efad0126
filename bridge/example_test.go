package bridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// A process starts its bridge, waits until Kafka is ready, then its role
// actors subscribe and publish through the bridge.
func Example() {
	broker, err := bridge.StartEmbedded(bridge.EmbeddedOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	defer broker.Close()

	logger := logging.Discard() // main: logging.New(...), then logging.RouteSarama(logger)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	defer system.Shutdown()
	cfg := bridge.Config{Brokers: []string{broker.Addr()}, WaitAttempts: 30, WaitInterval: time.Second}
	pid, err := bridge.Start(system, cfg, logger, stats.New())
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, system, pid); err != nil {
		panic(err) // main would exit 1
	}

	// An engine actor for CP-001 handles its commands.
	got := make(chan string, 1)
	engine := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if d, ok := c.Message().(*bridge.Delivery); ok {
			defer d.Done() // the offset is marked once the record is handled
			got <- d.Msg.(*messages.Command).CommandId
		}
	}))
	system.Root.Send(pid, &bridge.Subscribe{Topic: bridge.TopicCommands, Group: "engine-CP-001", Key: "CP-001", Subscriber: engine})
	system.Root.Send(pid, &bridge.Publish{Topic: bridge.TopicCommands, Key: "CP-001", Msg: &messages.Command{CommandId: "c-1", CpId: "CP-001"}})

	select {
	case id := <-got:
		fmt.Println("CP-001 got command", id)
	case <-ctx.Done():
		fmt.Println("no command")
	}
	// Output: CP-001 got command c-1
}
