// Package driver is a driver: it asks Central for a supply at each charge
// point of its list in turn, sees every step (accepted, denied, started, live
// kWh and EUR, the end, the ticket), and waits a pause after each request
// ends. It talks only through the bridge (driver.requests out;
// driver.updates and driver.tickets in, keyed by its id), and keeps its
// progress in a Progress store so that, after a restart, it waits for the
// result of the supply that went on without it instead of asking again.
package driver

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/words"
	"github.com/evcharging/evsim/messages"
)

// ParseRequests reads a requests file: one charge point id per line; blank
// lines and lines starting with # are ignored.
func ParseRequests(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("requests line %q: want one charge point id per line", line)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read requests: %w", err)
	}
	return out, nil
}

// ReadRequestsFile reads a requests file by path.
func ReadRequestsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open requests file: %w", err)
	}
	defer f.Close()
	reqs, err := ParseRequests(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reqs, nil
}

// Progress is where a driver keeps how far it got; it outlives the actor.
type Progress interface {
	Load() (Position, error)
	Save(Position) error
}

// Position is a driver's progress through its requests.
type Position struct {
	// Next is the index of the next request to send.
	Next int
	// RequestID and CPID name the request waiting for its result, if any.
	RequestID string
	CPID      string
	SessionID string
	// Requests is the RequestsDigest of the requests this position counts
	// through: a position is resumed only with the same requests.
	Requests string `json:",omitempty"`
}

// RequestsDigest identifies a list of requests by its content (comments and
// blank lines of the file aside), so that progress made through one list is
// never taken for progress through another.
func RequestsDigest(reqs []string) string {
	h := sha256.New()
	for _, r := range reqs {
		h.Write([]byte(r))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// MemoryProgress keeps a Position in memory. Safe for concurrent use.
type MemoryProgress struct {
	mu  sync.Mutex
	pos Position
}

// Load implements Progress.
func (p *MemoryProgress) Load() (Position, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos, nil
}

// Save implements Progress.
func (p *MemoryProgress) Save(pos Position) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos = pos
	return nil
}

// Config configures a driver.
type Config struct {
	// ID is the driver's id, e.g. alice. Required.
	ID string
	// Requests are the charge point ids to ask for, in order.
	Requests []string
	// Pause is the wait after each request ends. Default 4 s.
	Pause time.Duration
	// ReplyTimeout is how long to wait for Central's answer to a request
	// before saying "Cannot reach Central" and moving on. Default 10 s.
	ReplyTimeout time.Duration
	// Bridge is the bridge actor of this process. Required.
	Bridge *actor.PID
	// Group is the consumer group for the driver topics. Default "driver-<ID>".
	Group string
	// ResubscribeInterval is how often the driver repeats its subscriptions
	// (harmless to the bridge), so that a restarted bridge hears them again. Default 5 s.
	ResubscribeInterval time.Duration
	// Progress keeps the position across restarts. Default in memory.
	Progress Progress
	// StartDelay postpones the first request (e.g. until charge points registered).
	StartDelay time.Duration
	Logger     logrus.FieldLogger
	Now        func() time.Time
}

func (c *Config) setDefaults() {
	if c.Pause == 0 {
		c.Pause = 4 * time.Second
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 10 * time.Second
	}
	if c.Group == "" {
		c.Group = "driver-" + c.ID
	}
	if c.Progress == nil {
		c.Progress = &MemoryProgress{}
	}
	if c.ResubscribeInterval == 0 {
		c.ResubscribeInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("driver config: ID is empty")
	case c.Bridge == nil:
		return fmt.Errorf("driver %s config: no bridge PID", c.ID)
	case c.Pause < 0 || c.ReplyTimeout <= 0 || c.StartDelay < 0:
		return fmt.Errorf("driver %s config: Pause and StartDelay must not be negative, ReplyTimeout must be more than 0", c.ID)
	}
	for i, r := range c.Requests {
		if r == "" {
			return fmt.Errorf("driver %s config: request %d is empty", c.ID, i+1)
		}
	}
	return nil
}

// Props returns the driver's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor { return &Driver{cfg: &cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

// Messages a driver accepts besides its deliveries.
type (
	// GetStatus asks for *Status.
	GetStatus struct{}
	// Status is what this incarnation of the driver has seen.
	Status struct {
		Next     int
		Waiting  bool // a request is waiting for its result
		Finished bool // every request is done
		Tickets  []*messages.Ticket
		Denials  []*messages.ChargeDenied
		Notices  []string
		Timeouts int
	}
	next        struct{}
	resubscribe struct{}
	// replyTimeout ends the wait for an answer to request requestID, unless
	// the timer was armed again since (arm is the arming it belongs to).
	replyTimeout struct {
		requestID string
		arm       int
	}
)

// Driver is the driver actor.
type Driver struct {
	cfg    *Config // the props' own copy, shared by every incarnation
	log    logging.Lazy
	timers *timer.Timers
	pos    Position
	// answered is true once Central accepted or denied the waiting request.
	answered bool
	// replyArm counts armings of the reply timer: a notice about the waiting
	// request arms it again, and only the latest arming's timeout counts.
	replyArm int
	// centralSilent is true from a reply timeout until Central is heard
	// again, so an outage is one WARN line, not one per request.
	centralSilent bool
	broker        brokerWatch
	seen          map[string]bool // sessions whose ticket was shown
	status        Status
}

// Receive implements actor.Actor.
func (d *Driver) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		d.start(ctx)
	case *actor.Restarting:
		d.timers.StopAll()
	case *actor.Stopping:
		d.timers.StopAll()
		for _, t := range []string{bridge.TopicDriverUpdates, bridge.TopicTickets} {
			ctx.Send(d.cfg.Bridge, &bridge.Unsubscribe{Topic: t, Group: d.cfg.Group, Key: d.cfg.ID, Subscriber: ctx.Self()})
		}
	case *bridge.Delivery:
		defer msg.Done()
		d.delivery(ctx, msg)
	case *bridge.StateChanged:
		d.broker.changed(msg)
	case *next:
		d.send(ctx)
	case *resubscribe:
		d.subscribe(ctx)
	case *replyTimeout:
		if d.pos.RequestID == msg.requestID && msg.arm == d.replyArm && !d.answered {
			d.status.Timeouts++
			line := fmt.Sprintf("Cannot reach %s: no reply to my request for %s within %v; moving on", d.broker.unreachable(), d.pos.CPID, d.cfg.ReplyTimeout)
			if d.centralSilent {
				d.log.Entry().Debug(line)
			} else {
				d.log.Entry().Warn(line)
				d.centralSilent = true
			}
			d.finish(ctx)
		}
	case *GetStatus:
		s := d.status
		s.Next, s.Waiting = d.pos.Next, d.pos.RequestID != ""
		s.Finished = d.pos.RequestID == "" && d.pos.Next >= len(d.cfg.Requests)
		s.Tickets = append([]*messages.Ticket(nil), s.Tickets...)
		s.Denials = append([]*messages.ChargeDenied(nil), s.Denials...)
		s.Notices = append([]string(nil), s.Notices...)
		ctx.Respond(&s)
	case *supervision.Crash:
		panic("crash requested: " + msg.Reason)
	}
}

func (d *Driver) start(ctx actor.Context) {
	d.log = logging.NewLazy(d.cfg.Logger, "Driver ", "driver_id", d.cfg.ID)
	d.timers = timer.New(ctx)
	d.seen = map[string]bool{}
	d.subscribe(ctx)
	ctx.Send(d.cfg.Bridge, &bridge.WatchState{Watcher: ctx.Self()})
	d.timers.Every(d.cfg.ResubscribeInterval, &resubscribe{})
	if d.resume() {
		d.timers.After(d.cfg.StartDelay, &next{})
	}
}

// resume takes up the saved position if it counts through these requests,
// and says so in one line. It reports whether there is a request to send
// (not when one is under way, whose result is awaited, nor when all are done).
func (d *Driver) resume() (toSend bool) {
	digest := RequestsDigest(d.cfg.Requests)
	pos, err := d.cfg.Progress.Load()
	from := progressName(d.cfg.Progress)
	n := len(d.cfg.Requests)
	switch {
	case err != nil:
		d.log.Entry().WithError(err).Warnf("Could not read my progress; starting with the first of %s", requestCount(n))
		pos = Position{}
	case pos == Position{}:
		d.log.Entry().Infof("%s to make", capitalize(requestCount(n)))
	case pos.Requests != digest:
		d.log.Entry().Infof("My requests changed since my progress was saved%s; starting afresh with the first of %s", from, requestCount(n))
		pos = Position{}
	case pos.RequestID != "":
		// A request was under way when this driver stopped: wait for its result.
		d.log.Entry().Infof("Back; waiting for the result of my request for %s (request %d of %d%s)", pos.CPID, pos.Next, n, from)
	case pos.Next >= n:
		hint := ""
		if from != "" {
			hint = "; remove that file to make them again"
		}
		d.log.Entry().Infof("All %s were done in an earlier run%s%s", requestCount(n), from, hint)
	default:
		d.log.Entry().Infof("Resuming at request %d of %d%s", pos.Next+1, n, from)
	}
	pos.Requests = digest
	d.pos = pos
	d.save()
	if pos.RequestID == "" {
		return pos.Next < n
	}
	d.answered = pos.SessionID != ""
	if !d.answered {
		d.armReply()
	}
	return false
}

// progressName names where the progress is kept, for log lines: " (progress
// in PATH)" when the store says (fmt.Stringer), else nothing.
func progressName(p Progress) string {
	if s, ok := p.(fmt.Stringer); ok {
		return " (progress in " + s.String() + ")"
	}
	return ""
}

// requestCount says "1 request" or "N requests".
func requestCount(n int) string {
	return words.Count(n, "request", "requests")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (d *Driver) subscribe(ctx actor.Context) {
	for _, t := range []string{bridge.TopicDriverUpdates, bridge.TopicTickets} {
		ctx.Send(d.cfg.Bridge, &bridge.Subscribe{Topic: t, Group: d.cfg.Group, Key: d.cfg.ID, Subscriber: ctx.Self()})
	}
}

func (d *Driver) send(ctx actor.Context) {
	if d.pos.RequestID != "" {
		return
	}
	if d.pos.Next >= len(d.cfg.Requests) {
		d.log.Entry().Info(allDone(len(d.cfg.Requests)))
		return
	}
	cp := d.cfg.Requests[d.pos.Next]
	now := d.cfg.Now()
	d.pos.RequestID = fmt.Sprintf("%s-%d-%d", d.cfg.ID, now.UnixNano(), d.pos.Next)
	d.pos.CPID = cp
	d.pos.SessionID = ""
	d.pos.Next++
	d.answered = false
	d.broker.sent()
	d.save()
	ctx.Send(d.cfg.Bridge, &bridge.Publish{Topic: bridge.TopicDriverRequests, Key: d.cfg.ID, Msg: &messages.ChargeRequest{
		RequestId: d.pos.RequestID, DriverId: d.cfg.ID, CpId: cp, RequestedAt: timestamppb.New(now)}})
	if d.log.Enabled(logrus.InfoLevel) {
		d.log.Entry().Infof("Asked Central for a supply at %s (request %d of %d)", cp, d.pos.Next, len(d.cfg.Requests))
	}
	d.armReply()
}

// armReply starts (or starts again) the wait for Central's answer to the
// waiting request.
func (d *Driver) armReply() {
	d.replyArm++
	d.timers.After(d.cfg.ReplyTimeout, &replyTimeout{requestID: d.pos.RequestID, arm: d.replyArm})
}

func (d *Driver) delivery(ctx actor.Context, dl *bridge.Delivery) {
	// Every update of every supply comes here: lines that are not written
	// build no entry (at 50,000 charge points they were 8% of all memory
	// allocated).
	info := d.log.Enabled(logrus.InfoLevel)
	if d.centralSilent {
		d.centralSilent = false
		d.log.Entry().Info("Central answers again")
	}
	switch m := dl.Msg.(type) {
	case *messages.ChargeAccepted:
		if m.GetRequestId() == d.pos.RequestID && !d.answered {
			d.answered = true
			d.pos.SessionID = m.GetSessionId()
			d.save()
			if info {
				d.log.Entry().WithFields(logrus.Fields{"cp_id": m.GetCpId(), "session_id": m.GetSessionId()}).Infof("Accepted at %s", m.GetCpId())
			}
		}
	case *messages.ChargeDenied:
		if m.GetRequestId() != d.pos.RequestID {
			return
		}
		d.status.Denials = append(d.status.Denials, m)
		if info {
			d.log.Entry().WithField("cp_id", m.GetCpId()).Infof("Denied at %s: %s (%s)", m.GetCpId(), central.DenyText(m.GetReason()), m.GetDetail())
		}
		d.finish(ctx)
	case *messages.SupplyStarted:
		if info {
			d.log.Entry().WithFields(logrus.Fields{"cp_id": m.GetCpId(), "session_id": m.GetSessionId()}).
				Infof("Plugged in at %s: charging at %g kW, %.2f EUR/kWh", m.GetCpId(), m.GetKw(), m.GetPriceEurPerKwh())
		}
	case *messages.Telemetry:
		if d.log.Enabled(logrus.DebugLevel) {
			d.log.Entry().WithFields(logrus.Fields{"cp_id": m.GetCpId(), "session_id": m.GetSessionId()}).
				Debugf("Charging at %s: %g kW, %.3f kWh, %.2f EUR so far", m.GetCpId(), m.GetKw(), m.GetKwh(), m.GetEur())
		}
	case *messages.SupplyEnded:
		wait := "; waiting for the ticket"
		if d.seen[m.GetSessionId()] {
			wait = "" // the ticket came first (they travel on different topics)
		}
		if info {
			d.log.Entry().WithFields(logrus.Fields{"cp_id": m.GetCpId(), "session_id": m.GetSessionId()}).
				Infof("Supply at %s ended (%s)%s", m.GetCpId(), chargepoint.EndReasonText(m.GetReason()), wait)
		}
	case *messages.DriverNotice:
		d.status.Notices = append(d.status.Notices, m.GetText())
		d.log.Entry().WithField("cp_id", m.GetCpId()).Info(m.GetText())
		if m.GetSupplyInterrupted() && d.pos.RequestID != "" &&
			(m.GetSessionId() == d.pos.SessionID || (d.pos.SessionID == "" && m.GetCpId() == d.pos.CPID)) {
			d.finish(ctx) // the ticket is still shown when it comes
			return
		}
		if d.pos.RequestID != "" && !d.answered && m.GetCpId() == d.pos.CPID {
			// Central is working on the waiting request (e.g. holding its
			// start while the charge point is out of reach): it is not
			// silent, so the wait for its answer starts again.
			d.armReply()
		}
	case *messages.Ticket:
		if d.seen[m.GetSessionId()] {
			return // delivered again
		}
		d.seen[m.GetSessionId()] = true
		d.status.Tickets = append(d.status.Tickets, m)
		if info {
			d.log.Entry().WithFields(logrus.Fields{"cp_id": m.GetCpId(), "session_id": m.GetSessionId()}).
				Infof("Ticket for %s at %s: %.2f kWh, %.2f EUR (%s)", m.GetDriverId(), m.GetCpId(), m.GetKwh(), m.GetEur(), chargepoint.EndReasonText(m.GetReason()))
		}
		if m.GetRequestId() == d.pos.RequestID || (d.pos.SessionID != "" && m.GetSessionId() == d.pos.SessionID) {
			d.finish(ctx)
		}
	}
}

// finish ends the current request and schedules the next after the pause.
func (d *Driver) finish(ctx actor.Context) {
	d.pos.RequestID, d.pos.CPID, d.pos.SessionID = "", "", ""
	d.answered = false
	d.save()
	if d.pos.Next < len(d.cfg.Requests) {
		d.timers.After(d.cfg.Pause, &next{})
		return
	}
	d.log.Entry().Info(allDone(len(d.cfg.Requests)))
}

func (d *Driver) save() {
	if err := d.cfg.Progress.Save(d.pos); err != nil {
		d.log.Entry().WithError(err).Warn("Could not save my progress")
	}
}
