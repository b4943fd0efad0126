// Package driverdesk lets drivers act through a front-end (the web driver
// app) exactly as a driver process does: a request is a ChargeRequest
// published on driver.requests under the driver's id, and every answer comes
// back on driver.updates and driver.tickets, read through the process's
// bridge. Central cannot tell a web driver from any other, so its rules
// (denial reasons, one supply per driver, one ticket per supply) apply
// unchanged.
//
// One desk actor serves a process. It subscribes to a driver's records the
// first time someone acts or watches as that driver (consumer group
// Config.Group, so it reads beside, never instead of, a driver process of the
// same id) and stays subscribed: its records are then never held for a
// subscriber that left. Config.MaxDrivers bounds how many drivers it follows.
// Two processes whose desks share a group split the driver topics'
// partitions between them, each seeing only its share: give each process
// its own group (evnode central uses "<--group>.web-drivers").
//
// The Desk type is the desk seen from outside the actor system; its methods
// are safe for concurrent use.
package driverdesk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
)

// The steps of a request, as Request.Status.
const (
	StatusRequested  = "requested"  // sent to Central, no answer yet
	StatusAccepted   = "accepted"   // Central authorised it; waiting for the plug
	StatusDenied     = "denied"     // Central refused it; Reason says why
	StatusSupplying  = "supplying"  // energy flows; KW, KWh and EUR are live
	StatusEnded      = "ended"      // the supply ended; its ticket is on the way
	StatusTicketed   = "ticketed"   // the ticket came; Ticket holds it
	StatusUnanswered = "unanswered" // no answer within Config.ReplyTimeout
)

// Request is one request made through the desk, as far as it got.
type Request struct {
	RequestID string
	DriverID  string
	CPID      string
	Status    string
	// Reason says why, in words: the denial's reason and detail, how the
	// supply ended, or the latest notice from Central.
	Reason      string
	SessionID   string
	KW, KWh     float64
	EUR         float64
	Price       float64 // EUR per kWh
	RequestedAt time.Time
	StartedAt   time.Time
	EndedAt     time.Time
	UpdatedAt   time.Time
	// Ticket is Central's ticket once it came (never changed afterwards).
	Ticket *messages.Ticket
}

// UnderWay reports whether the request still waits for an answer or a supply runs.
func (r *Request) UnderWay() bool {
	return r.Status == StatusRequested || r.Status == StatusAccepted || r.Status == StatusSupplying
}

// Update is what a watcher receives: a request of the driver that changed,
// or a ticket of the driver (of any request, the desk's or a driver
// process's of the same id), or both.
type Update struct {
	Request *Request
	Ticket  *messages.Ticket
}

// Errors of the desk's calls.
var (
	// ErrNotAnswering: the desk's actor did not answer in time (or is gone).
	ErrNotAnswering = errors.New("the driver desk is not answering")
	// ErrTooManyDrivers: the desk already follows Config.MaxDrivers drivers.
	ErrTooManyDrivers = errors.New("the driver desk follows as many drivers as it may")
)

// Config configures the desk.
type Config struct {
	// Bridge is the process's bridge actor. Required.
	Bridge *actor.PID
	// Group is the consumer group of the driver topics. Default "web-drivers".
	Group string
	// ReplyTimeout: a request with no answer from Central by then is shown
	// as unanswered. Default 10 s (as a driver process).
	ReplyTimeout time.Duration
	// MaxDrivers bounds the drivers followed. Default 1000.
	MaxDrivers int
	// Keep is how many requests are kept per driver, newest first. Default 10.
	Keep int
	// WatchQueue is how many updates a watcher may fall behind before its
	// channel is closed (it should watch again). Default 64.
	WatchQueue int
	// ResubscribeInterval is how often the subscriptions are repeated, so
	// that a restarted bridge hears them again. Default 5 s.
	ResubscribeInterval time.Duration
	// Logger receives the desk's lines (component "Driver desk"). Default: discard.
	Logger logrus.FieldLogger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Group == "" {
		c.Group = "web-drivers"
	}
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = 10 * time.Second
	}
	if c.MaxDrivers <= 0 {
		c.MaxDrivers = 1000
	}
	if c.Keep <= 0 {
		c.Keep = 10
	}
	if c.WatchQueue <= 0 {
		c.WatchQueue = 64
	}
	if c.ResubscribeInterval <= 0 {
		c.ResubscribeInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Desk is the driver desk seen from code that is not an actor.
type Desk struct {
	root *actor.RootContext
	pid  *actor.PID
}

// Start spawns the desk's actor.
func Start(system *actor.ActorSystem, cfg Config) (*Desk, error) {
	if cfg.Bridge == nil {
		return nil, errors.New("driver desk config: no bridge PID")
	}
	cfg.setDefaults()
	props := actor.PropsFromProducer(func() actor.Actor { return &deskActor{cfg: &cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack))
	pid, err := system.Root.SpawnNamed(props, "driverdesk")
	if err != nil {
		return nil, fmt.Errorf("start the driver desk: %w", err)
	}
	return &Desk{root: system.Root, pid: pid}, nil
}

// Stop stops the desk's actor and waits for it; every watch ends.
func (d *Desk) Stop() { _ = d.root.StopFuture(d.pid).Wait() }

// defaultTimeout bounds a call whose context has no deadline.
const defaultTimeout = 5 * time.Second

func (d *Desk) ask(ctx context.Context, msg any) (any, error) {
	timeout := defaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := d.root.RequestFuture(d.pid, msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAnswering, err)
	}
	if _, dead := res.(*actor.DeadLetterResponse); dead {
		return nil, ErrNotAnswering
	}
	return res, nil
}

// Request asks Central for a supply at cpID on behalf of driverID, the way a
// driver process does, and returns the request as sent.
func (d *Desk) Request(ctx context.Context, driverID, cpID string) (Request, error) {
	res, err := d.ask(ctx, &askRequest{driverID: driverID, cpID: cpID})
	if err != nil {
		return Request{}, err
	}
	a := res.(*answer)
	if a.err != nil {
		return Request{}, a.err
	}
	return a.requests[0], nil
}

// Requests returns the driver's requests made through the desk, newest first.
func (d *Desk) Requests(ctx context.Context, driverID string) ([]Request, error) {
	res, err := d.ask(ctx, &askRequests{driverID: driverID})
	if err != nil {
		return nil, err
	}
	a := res.(*answer)
	return a.requests, a.err
}

// Watch streams the driver's updates until ctx ends; the channel is closed
// then, or earlier when the reader falls Config.WatchQueue updates behind or
// the desk stops (watch again to go on).
func (d *Desk) Watch(ctx context.Context, driverID string) (<-chan Update, error) {
	w := &watch{driverID: driverID}
	res, err := d.ask(ctx, w)
	if err != nil {
		return nil, err
	}
	a := res.(*answer)
	if a.err != nil {
		return nil, a.err
	}
	go func() {
		<-ctx.Done()
		d.root.Send(d.pid, &unwatch{driverID: driverID, id: a.watchID})
	}()
	return a.ch, nil
}

// The desk actor's messages.
type (
	askRequest  struct{ driverID, cpID string }
	askRequests struct{ driverID string }
	watch       struct{ driverID string }
	unwatch     struct {
		driverID string
		id       int
	}
	answer struct {
		requests []Request
		err      error
		ch       chan Update
		watchID  int
	}
	replyTimeout struct{ driverID, requestID string }
	resubscribe  struct{}
)

// snapshot copies the request for a reader outside the actor.
func (r *Request) snapshot() Request { return *r }

// newestFirst copies the requests, newest first.
func newestFirst(rs []*Request) []Request {
	out := make([]Request, len(rs))
	for i, r := range rs {
		out[len(rs)-1-i] = r.snapshot()
	}
	return out
}
