// Package central is the network's controller: the registry of charge
// points (in internal/store), the authentication of monitors, the
// authorisation of charge requests, commands to engines, the panel state
// derived from monitor and engine (rules.md's table), tickets, operator
// orders, and a state stream for panels.
//
// Central hears monitors by actor messages (*messages.RegisterChargePoint,
// *messages.Liveness, *messages.FaultReport — local or remote PIDs) and
// everything else through the bridge: driver.requests, cp.status,
// cp.telemetry and cp.session_end in; central.commands, driver.updates and
// driver.tickets out. Liveness is judged by Central's own timer, not when
// someone looks at the panel.
package central

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/internal/words"
	"github.com/evcharging/evsim/messages"
)

// ActorName is Central's well-known actor name; a remote monitor reaches it
// as actor.NewPID("host:port", ActorName) in evnode.
const ActorName = "central"

// Config configures Central.
type Config struct {
	// Store is the registry and ticket database. Required.
	Store *store.Store
	// Bridge is the bridge actor of this process. Required.
	Bridge *actor.PID
	// LivenessTimeout bounds how long after a monitor's last sign of life
	// its charge point shows DISCONNECTED (the check runs every
	// CheckInterval, so a silence of LivenessTimeout-CheckInterval is
	// enough). Default 3 s.
	LivenessTimeout time.Duration
	// CheckInterval is how often Central looks for silent monitors. Default LivenessTimeout/6.
	CheckInterval time.Duration
	// StartTimeout is how long an engine has to confirm a start. Default 5 s.
	StartTimeout time.Duration
	// ForwardTimeout bounds how long an operator's order passed on to the
	// Central of the group that owns the charge point waits for its answer
	// (keep it below the web panel's request timeout). Default 2 s.
	ForwardTimeout time.Duration
	// ReconcileInterval is the least time between two repeats of an order
	// (stop/resume) to an engine whose state disagrees. Default LivenessTimeout.
	ReconcileInterval time.Duration
	// ReleaseAfter is how long a supply may sit on a FAULT or DISCONNECTED
	// charge point that cannot report its end before Central releases its
	// driver (who may then charge elsewhere; the ticket follows when the
	// charge point reports). Default 30 s.
	ReleaseAfter time.Duration
	// RequestTTL is the age after which a request is answered with a denial
	// instead of served: its driver has given up waiting (e.g. it was sent
	// while Central was down). Default 30 s; evsim sets the drivers' reply timeout.
	RequestTTL time.Duration
	// CommandTTL is how long a command other than a start stays valid (a
	// start is valid for StartTimeout): an engine ignores an older one.
	// Default 60 s.
	CommandTTL time.Duration
	// CutOffGrace is how soon after Central ends a supply for a FAULT or a
	// lost monitor the engine's own end must come for its figures to stand:
	// an engine that obeys the stop ends within moments; a later end (a hung
	// engine waking up) is cut back to Central's end. Default 1 s.
	CutOffGrace time.Duration
	// ResubscribeInterval is how often Central repeats its subscriptions
	// (harmless to the bridge), so that a restarted bridge hears them again. Default 5 s.
	ResubscribeInterval time.Duration
	// Group is the consumer group of Central's topics. Default "central".
	Group string
	// Shared makes this Central one of several of Group that share the
	// charge points by the partitions of the charge-point-keyed topics
	// (group.go). Default false: this Central serves every charge point.
	Shared bool
	// Partitions is the partition count of the charge-point-keyed topics
	// (the bridge's Config.Partitions), with Shared. Default 6.
	Partitions int
	// Address is where the other Centrals of a shared group reach this one
	// over actor remote. Default: the address of Central's own PID.
	Address string
	// HTTP is this Central's web address, told to the others of a shared
	// group for /api/cluster. Default: none.
	HTTP string
	// HistorySize is how many panel events are kept. Default 1000.
	HistorySize int
	// ClosedRegistration refuses charge points that are not in the registry
	// yet. By default a new charge point joins with the secret it first
	// presents, which every later registration must match.
	ClosedRegistration bool
	// Tokens, when set, makes Central verify the Registry's tokens: a
	// monitor registers with its charge point's token (its secret is not
	// used), checked offline against the records of the registry topic,
	// which each life of Central reads from its beginning into a Verifier
	// of its own. nil: the lab's open mode (secrets, see ClosedRegistration).
	Tokens *registry.VerifierOptions
	// RegistryGrace is how long after its start Central answers "waiting"
	// (not a rejection) to a charge point it has no Registry record of
	// yet: it may still be reading the topic. Default 10 s.
	RegistryGrace time.Duration
	// Audit, when set, receives Central's security events (registrations
	// refused and accepted, charge points revoked or deregistered).
	Audit *audit.Log
	// ExpectedChargePoints, when set, marks the run's start-up done once that
	// many charge points have connected.
	ExpectedChargePoints int
	// Keys, when set, is the keyring of the process's bridge: Central
	// issues, rotates and revokes the charge points' keys in it (keys.go).
	// nil: encryption off.
	Keys *seal.Keyring
	// MasterKey wraps the keys Central stores. Default (with Keys): a
	// random one for the life of these props (a Central spawned from new
	// props cannot read the keys stored under it: give one).
	MasterKey *seal.MasterKey
	// EncryptionErrorHold is how long a charge point shows ENCRYPTION_ERROR
	// after its last record that did not open. Default 10 s.
	EncryptionErrorHold time.Duration
	// Stall measures this process's own stalls: a monitor's silence that
	// falls into one is not counted towards LivenessTimeout. nil: all counts.
	Stall  *stall.Meter
	Logger logrus.FieldLogger
	Stats  *stats.Run
	Now    func() time.Time
}

func (c *Config) setDefaults() {
	if c.LivenessTimeout == 0 {
		c.LivenessTimeout = 3 * time.Second
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = max(c.LivenessTimeout/6, 5*time.Millisecond)
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 5 * time.Second
	}
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = 2 * time.Second
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = c.LivenessTimeout
	}
	if c.ReleaseAfter == 0 {
		c.ReleaseAfter = 30 * time.Second
	}
	if c.RequestTTL == 0 {
		c.RequestTTL = 30 * time.Second
	}
	if c.CutOffGrace == 0 {
		c.CutOffGrace = time.Second
	}
	if c.CommandTTL == 0 {
		c.CommandTTL = time.Minute
	}
	if c.Group == "" {
		c.Group = "central"
	}
	if c.ResubscribeInterval == 0 {
		c.ResubscribeInterval = 5 * time.Second
	}
	if c.RegistryGrace == 0 {
		c.RegistryGrace = 10 * time.Second
	}
	if c.HistorySize == 0 {
		c.HistorySize = 1000
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.EncryptionErrorHold == 0 {
		c.EncryptionErrorHold = 10 * time.Second
	}
	if c.Keys != nil && c.MasterKey == nil {
		if mk, err := seal.NewEphemeralMasterKey(); err == nil {
			c.MasterKey = mk
		}
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Stats == nil {
		c.Stats = stats.New()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("central config: no store")
	case c.Bridge == nil:
		return errors.New("central config: no bridge PID")
	case c.LivenessTimeout <= 0 || c.CheckInterval <= 0 || c.CheckInterval > c.LivenessTimeout/2:
		return fmt.Errorf("central config: CheckInterval %v must be more than 0 and at most half of LivenessTimeout %v", c.CheckInterval, c.LivenessTimeout)
	case c.StartTimeout <= 0:
		return errors.New("central config: StartTimeout must be more than 0")
	case c.CommandTTL < 0:
		return errors.New("central config: CommandTTL must not be negative")
	case c.HistorySize < 1:
		return errors.New("central config: HistorySize must be at least 1")
	case c.Keys != nil && c.MasterKey == nil:
		return errors.New("central config: Keys need a MasterKey to store them")
	}
	return nil
}

// Props returns Central's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor { return &Central{cfg: cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

// Internal messages.
type (
	checkTick         struct{}
	bridgeResubscribe struct{}
	startTimeout      struct{ sessionID, cpID string }
	// watchPanel subscribes a watcher to *Update messages (repeating it is harmless).
	watchPanel struct{ pid *actor.PID }
)

// Central is the Central actor. Its whole state lives here and is rebuilt
// from the store, the monitors and Kafka after a restart.
type Central struct {
	cfg      Config
	log      *logrus.Entry
	timers   *timer.Timers
	sys      *actor.ActorSystem
	instance string
	nextID   uint64
	// startedAt is when this life of Central started (see RegistryGrace).
	startedAt time.Time
	// verifier checks tokens (Config.Tokens); nil in the open mode.
	verifier *registry.Verifier

	cps     map[string]*cpEntry
	drivers map[string]string // driver id -> session id (running or being started)
	handled *recent           // request ids already answered
	ended   *recent           // session ids that ended
	denied  *recent           // session ids Central gave up on before they started
	counted *recent           // session ids counted as started
	ids     []string          // c.cps's ids in order, kept between calls of sortedIDs
	events  []Event
	seq     uint64
	// connectedCount counts charge points whose monitor has connected at least once.
	connectedCount int
	watchers       map[string]*actor.PID
	totals         Totals
	rejected       map[string]string    // cp id -> reason of the last rejected registration
	cutOffs        map[string]cutOffEnd // session id -> how Central ended it (see cutoff.go)
	// restarted: Central found charge points registered by an earlier life
	// (a restart of the actor or of the process on the same database).
	restarted bool
	// weatherState is the cities' weather and alerts (weather.go).
	weatherState *weatherState
	// sealing is Central's side of the charge points' keys (keys.go).
	sealing sealState
	// lines gathers node-wide log lines (nodelines.go).
	lines *nodeLines
	// checkQueued: a check tick waits at the end of the mailbox (lateness.go).
	checkQueued bool
	// group is this Central's share of a shared group (group.go); nil unless Config.Shared.
	group *groupState
}

// Receive implements actor.Actor.
func (c *Central) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Restarting:
		c.timers.StopAll()
		c.tellNodeLinesNow()
	case *actor.Stopping:
		c.timers.StopAll()
		c.tellNodeLinesNow()
		for _, s := range c.subscriptions(ctx) {
			ctx.Send(c.cfg.Bridge, &bridge.Unsubscribe{Topic: s.Topic, Group: s.Group, Subscriber: ctx.Self()})
		}
		c.leaveGroup(ctx)
		c.subscribeRegistry(ctx, true)
		c.subscribeWeather(ctx, true)
	case *bridge.Delivery:
		defer msg.Done()
		c.delivery(ctx, msg.Msg)
	case *messages.RegisterChargePoint:
		if !c.passOn(ctx, msg.GetCpId(), msg) {
			c.register(ctx, msg)
		}
	case *messages.Liveness:
		if !c.passOn(ctx, msg.GetCpId(), msg) {
			c.liveness(ctx, msg)
		}
	case *messages.CentralForward:
		c.forwarded(ctx, msg)
	case *bridge.Assigned:
		c.assigned(ctx, msg)
	case *messages.FaultReport:
		if c.passOn(ctx, msg.GetCpId(), msg) {
			return
		}
		if cp := c.cps[msg.GetCpId()]; cp != nil && cp.alive && cp.isMonitor(ctx.Sender()) && c.sameRegistration(cp, msg.GetRegistrationId()) {
			c.engineHealth(ctx, cp, !msg.GetFaulty(), msg.GetDetail())
		}
	case *checkTick:
		c.lateTick(ctx)
	case *checkFinal:
		c.checkQueued = false
		c.checkLiveness(ctx)
		c.syncDrivers(ctx)
	case *bridgeResubscribe:
		c.subscribe(ctx)
	case *startTimeout:
		c.startTimedOut(ctx, msg)
	case *StopChargePoint:
		if !c.orderElsewhere(ctx, msg.CPID, messages.OrderKind_ORDER_KIND_STOP) && !c.orderEverywhere(ctx, msg.CPID, true) {
			ctx.Respond(c.setStopped(ctx, msg.CPID, true))
		}
	case *ResumeChargePoint:
		if !c.orderElsewhere(ctx, msg.CPID, messages.OrderKind_ORDER_KIND_RESUME) && !c.orderEverywhere(ctx, msg.CPID, false) {
			ctx.Respond(c.setStopped(ctx, msg.CPID, false))
		}
	case *KnockOut:
		if !c.orderElsewhere(ctx, msg.CPID, knockOutKind(msg.KO)) {
			ctx.Respond(c.knockOut(ctx, msg))
		}
	case *messages.CentralOrder:
		ctx.Respond(c.orderOfAnother(ctx, msg))
	case *GetSnapshot:
		ctx.Respond(c.snapshot())
	case *GetCluster:
		ctx.Respond(c.cluster(ctx))
	case *GetEvents:
		ctx.Respond(c.eventsSince(msg.Since, msg.Limit))
	case *watchPanel:
		if _, ok := c.watchers[msg.pid.String()]; !ok {
			c.watchers[msg.pid.String()] = msg.pid
			ctx.Watch(msg.pid)
		}
	case *actor.Terminated:
		delete(c.watchers, msg.Who.String())
	case *supervision.Crash:
		panic("crash requested: " + msg.Reason)
	case *bridge.Refused:
		c.refused(ctx, msg)
	case *keyTick:
		c.expireEncErrors(ctx)
	case *RevokeKey:
		ctx.Respond(c.revokeKey(ctx, msg))
	case *RotateKey:
		ctx.Respond(c.rotateKey(ctx, msg))
	default:
		c.weatherMessage(ctx, msg)
	}
}

// recentSize is how many request and session ids Central remembers as
// handled, ended or counted: twice the network, and at least 10,000. A
// network with more supplies open at once than it remembers counted a
// start twice when the engine's report came after 10,000 others (50,000
// charge points: 132,127 starts for 67,168 tickets).
func (c *Config) recentSize() int { return max(10000, 2*c.ExpectedChargePoints) }

func (c *Central) topics() []string {
	return []string{bridge.TopicDriverRequests, bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd}
}

func (c *Central) start(ctx actor.Context) {
	c.log = logging.Component(c.cfg.Logger, "Central")
	c.timers = timer.New(ctx)
	c.sys = ctx.ActorSystem()
	c.instance = newID()
	c.startedAt = c.cfg.Now()
	if c.cfg.Tokens != nil {
		c.verifier = registry.NewVerifier(*c.cfg.Tokens)
	}
	c.cps = map[string]*cpEntry{}
	c.drivers = map[string]string{}
	c.handled = newRecent(c.cfg.recentSize())
	c.ended = newRecent(c.cfg.recentSize())
	c.denied = newRecent(1000)
	c.counted = newRecent(c.cfg.recentSize())
	c.watchers = map[string]*actor.PID{}
	c.rejected = map[string]string{}
	c.cutOffs = map[string]cutOffEnd{}
	c.totals.ByState = map[messages.ChargePointState]int{}

	bg := context.Background()
	regs, err := c.cfg.Store.ChargePoints(bg)
	if err != nil {
		c.log.WithError(err).Warn("Could not load the registry; starting with none")
	}
	c.restarted = len(regs) > 0
	now := c.cfg.Now()
	for _, r := range regs {
		cp := &cpEntry{reg: r, stopped: r.Stopped, engineOK: true, since: now}
		cp.state, cp.reason = cp.derive()
		c.cps[r.ID] = cp
	}
	c.startKeys(ctx)
	c.startGroup(ctx)
	c.markChangelog(ctx)
	if n, kwh, eur, err := c.cfg.Store.TicketTotals(bg); err == nil {
		c.totals.Tickets, c.totals.KWh, c.totals.EUR = n, kwh, eur
	}
	c.subscribe(ctx)
	c.timers.Every(c.cfg.ResubscribeInterval, &bridgeResubscribe{})
	c.timers.Every(c.cfg.CheckInterval, &checkTick{})
	c.log.Infof("Central started: %s in the registry, each DISCONNECTED until its monitor connects", words.Count(len(regs), "charge point", "charge points"))
	c.event(EventRestart, "", "", fmt.Sprintf("Central started with %s", words.Count(len(regs), "registered charge point", "registered charge points")))
}

func (c *Central) subscribe(ctx actor.Context) {
	for _, s := range c.subscriptions(ctx) {
		ctx.Send(c.cfg.Bridge, s)
	}
	c.subscribeRegistry(ctx, false)
	c.subscribeWeather(ctx, false)
	c.watchRefusals(ctx)
}

// --- out ---------------------------------------------------------------------

// command sends an engine a command that expires: a start once Central has
// given up waiting for it (StartTimeout), any other after CommandTTL, so
// that a command replayed long after (e.g. to a new consumer group) is
// ignored by the engine instead of run.
func (c *Central) command(ctx actor.Context, cpID string, cmd *messages.Command) {
	c.nextID++
	cmd.CpId = cpID
	cmd.CommandId = fmt.Sprintf("C-%s-%d", c.instance, c.nextID)
	now := c.cfg.Now()
	ttl := c.cfg.CommandTTL
	if cmd.GetStartSupply() != nil {
		ttl = c.cfg.StartTimeout
	}
	cmd.SentAt, cmd.ExpiresAt = timestamppb.New(now), timestamppb.New(now.Add(ttl))
	c.publish(ctx, bridge.TopicCommands, cpID, cmd)
}

func (c *Central) notice(ctx actor.Context, driver, cpID, sid, text string) {
	if driver == "" {
		return
	}
	c.publish(ctx, bridge.TopicDriverUpdates, driver, &messages.DriverNotice{
		DriverId: driver, Text: text, At: timestamppb.New(c.cfg.Now()), CpId: cpID, SessionId: sid})
}

func (c *Central) publish(ctx actor.Context, topic, key string, msg proto.Message) {
	ctx.Send(c.cfg.Bridge, &bridge.Publish{Topic: topic, Key: key, Msg: msg})
}

func newID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
