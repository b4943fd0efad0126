package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"

	// Every message that crosses a process is a type of this package; the
	// remote decodes by type name, so the package must be linked in.
	_ "github.com/evcharging/evsim/messages"
)

// Well-known actor names: a peer reaches a role as actor.NewPID(addr, name).
// Each is a door at the root of its process that forwards (keeping the
// sender, so answers go straight back) to the supervised role actor.
const (
	// centralName is central.ActorName.
	centralName = "central"
	engineName  = "engine"
	// rootName is each process's root supervisor; the role actor is its child.
	rootName = "evnode"
)

// shutdownTimeout bounds the orderly part of a shutdown.
const shutdownTimeout = 15 * time.Second

// node is what every role process has: a logger, an actor system, counters.
type node struct {
	role   string
	logger *logrus.Logger
	log    *logrus.Entry
	system *actor.ActorSystem
	stats  *stats.Run
	remote *remote.Remote
	// failed is closed when the role actor stopped for good (its supervisor
	// gave up): the process exits 1 so that its restart policy takes over.
	failed chan struct{}
	// stall measures this process's own stalls for the failure detectors.
	stall *stall.Meter
	// doors opened before their role started (see openDoor).
	doors map[string]*actor.PID
	// keys is the bridge's keyring, nil with --encryption off (keys.go).
	keys *seal.Keyring
	// tuneBridge, when set, adjusts the bridge's config before it starts.
	tuneBridge func(*bridge.Config)
}

func newNode(role string, l config.Log, stderr io.Writer) (*node, error) {
	logger, err := newLogger(l, stderr)
	if err != nil {
		return nil, err
	}
	n := &node{role: role, logger: logger, log: logging.Component(logger, "evnode"), stats: stats.New(), failed: make(chan struct{}),
		stall: stall.Start(0, 0), doors: map[string]*actor.PID{}}
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	return n, nil
}

// shutdown ends the actor system and the stall meter.
func (n *node) shutdown() {
	n.system.Shutdown()
	n.stall.Stop()
}

// startRemote starts the actor remote (gRPC) on listen, advertised as
// advertise. protoactor panics when it cannot listen: that becomes an error.
func (n *node) startRemote(r config.Remote) (err error) {
	host, portText, _ := net.SplitHostPort(r.Listen)
	port, _ := strconv.Atoi(portText)
	// Check the port first, for a clear message (protoactor would panic).
	lis, err := net.Listen("tcp", r.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", r.Listen, err)
	}
	_ = lis.Close()
	opts := append([]remote.ConfigOption{remote.WithAdvertisedHost(r.Advertise)}, remoteOptions(&r, logging.Component(n.logger, "Remote"))...)
	cfg := remote.Configure(host, port, opts...)
	// One connection attempt per endpoint before protoactor gives up on it
	// (each failed attempt costs it a 2 s pause); the next message dials again.
	cfg.MaxRetryCount = 1
	rem := remote.NewRemote(n.system, cfg)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot start the actor remote on %s: %v", r.Listen, p)
		}
	}()
	rem.Start()
	n.remote = rem
	n.watchPeers()
	n.log.Infof("Actor remote listening on %s, reachable at %s%s", r.Listen, r.Advertise, remoteTLSNote(&r.TLS))
	return nil
}

// watchPeers notes protoactor's endpoint events at DEBUG. protoactor logs a
// lost or refused connection at ERROR (routed to DEBUG by our slog handler);
// the roles say "cannot reach ..." themselves, once, when it matters. A
// terminated endpoint is dropped by protoactor and dialled again on the
// next message to that address, and every peer is named by its well-known
// name, so nothing needs resolving again: the next message finds the new
// incarnation of the peer.
func (n *node) watchPeers() {
	log := logging.Component(n.logger, "Remote")
	n.system.EventStream.Subscribe(func(evt any) {
		switch e := evt.(type) {
		case *remote.EndpointTerminatedEvent:
			log.WithField("peer", e.Address).Debug("Connection to a peer ended; it is dialled again on the next message")
		case *remote.EndpointConnectedEvent:
			log.WithField("peer", e.Address).Debug("Connected to a peer")
		}
	})
}

// gate starts the bridge and waits until Kafka answers. It returns the
// bridge's PID, or an exit code when the process must end (0 on a signal
// before Kafka was ready, 1 when Kafka never answered).
func (n *node) gate(ctx context.Context, k config.Kafka, clientID string, status *web.BridgeStatus) (*actor.PID, int, bool) {
	cfg := bridge.Config{Brokers: k.Brokers, WaitAttempts: k.WaitAttempts, WaitInterval: k.WaitInterval, ClientID: clientID, Security: k.Security.Bridge, Keys: n.keys, TopicPrefix: k.TopicPrefix}
	if n.tuneBridge != nil {
		n.tuneBridge(&cfg)
	}
	pid, err := bridge.Start(n.system, cfg, n.logger, n.stats)
	if err != nil {
		n.log.Errorf("Cannot start the Kafka bridge: %v", err)
		return nil, 1, false
	}
	if status != nil {
		watcher := n.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			if s, ok := c.Message().(*bridge.StateChanged); ok {
				status.Set(s.State, s.Detail)
			}
		}))
		n.system.Root.Send(pid, &bridge.WatchState{Watcher: watcher})
	}
	if err := bridge.AwaitReady(ctx, n.system, pid); err != nil {
		if ctx.Err() != nil {
			n.log.Info("Stopped before Kafka was ready")
			n.stopBridge(pid)
			return nil, 0, false
		}
		// The bridge said why in its one ERROR line.
		return nil, 1, false
	}
	return pid, 0, true
}

func (n *node) stopBridge(pid *actor.PID) {
	if pid == nil {
		return
	}
	if err := bridge.Stop(n.system, pid); err != nil {
		n.log.Warnf("Kafka bridge did not stop in time: %v", err)
	}
}

// spawnRole starts the root supervisor with the role actor as its only
// child, and (when door is not empty) a door under that well-known name.
func (n *node) spawnRole(child supervision.Child, door string) (*actor.PID, error) {
	failed := n.failed
	child.OnGiveUp = chainGiveUp(child.OnGiveUp, func() {
		select {
		case <-failed:
		default:
			close(failed)
		}
	})
	props, err := supervision.Props(supervision.Config{
		Display: "Supervisor", Logger: n.logger, Stats: n.stats, Children: []supervision.Child{child},
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.system.Root.SpawnNamed(props, rootName); err != nil {
		return nil, fmt.Errorf("start the root supervisor: %w", err)
	}
	target := actor.NewPID(n.system.Address(), rootName+"/"+child.Name)
	if pid, open := n.doors[door]; open {
		n.system.Root.Send(pid, &roleStarted{target: target})
	} else if door != "" {
		if _, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &doorActor{target: target} }), door); err != nil {
			return nil, fmt.Errorf("start the %s door: %w", door, err)
		}
	}
	return target, nil
}

// openDoor opens the role's door before the role starts (it waits for
// Kafka): until spawnRole, the door answers peers with whileWaiting (nil =
// no answer), so that a monitor hears "waiting", not silence.
func (n *node) openDoor(door string, whileWaiting func(msg any) any) error {
	pid, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &doorActor{whileWaiting: whileWaiting}
	}), door)
	if err != nil {
		return fmt.Errorf("start the %s door: %w", door, err)
	}
	n.doors[door] = pid
	return nil
}

func chainGiveUp(first func(actor.Context, *actor.PID, any), then func()) func(actor.Context, *actor.PID, any) {
	return func(ctx actor.Context, pid *actor.PID, reason any) {
		if first != nil {
			first(ctx, pid, reason)
		}
		then()
	}
}

// stopRole stops the root supervisor (and so the role actor, which gets
// *actor.Stopping and unsubscribes) and the door.
func (n *node) stopRole(door string) {
	if door != "" {
		_ = n.system.Root.StopFuture(actor.NewPID(n.system.Address(), door)).Wait()
	}
	if err := n.system.Root.StopFuture(actor.NewPID(n.system.Address(), rootName)).Wait(); err != nil {
		n.log.Warnf("The %s did not stop in time: %v", n.role, err)
	}
}

// stopRemote stops the actor remote, letting queued messages go out first.
func (n *node) stopRemote() {
	if n.remote != nil {
		n.remote.Shutdown(true)
		n.remote = nil
	}
}

// killRemote stops the actor remote at once (early exits; a no-op after stopRemote).
func (n *node) killRemote() {
	if n.remote != nil {
		n.remote.Shutdown(false)
		n.remote = nil
	}
}

// wait blocks until a signal (exit 0) or the role actor failed for good (exit 1).
func (n *node) wait(ctx context.Context) int {
	select {
	case <-ctx.Done():
		n.log.Info("Signal received: shutting down")
		return 0
	case <-n.failed:
		n.log.Errorf("The %s stopped after too many failures; exiting so that it is started again", n.role)
		return 1
	}
}

// doorActor forwards every user message to the role actor, keeping the
// sender, so a remote peer's request is answered straight by the role actor.
// Before the role starts (target nil) it answers with whileWaiting.
type doorActor struct {
	target       *actor.PID
	whileWaiting func(msg any) any
}

// roleStarted tells a door that opened early where its role now is.
type roleStarted struct{ target *actor.PID }

func (d *doorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case actor.SystemMessage, actor.AutoReceiveMessage:
		return // its own life (started, stopping, ...)
	case *roleStarted:
		d.target = msg.target
		return
	}
	if d.target != nil {
		ctx.Forward(d.target)
		return
	}
	if d.whileWaiting == nil || ctx.Sender() == nil {
		return
	}
	if answer := d.whileWaiting(ctx.Message()); answer != nil {
		ctx.Respond(answer)
	}
}
