package web

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/sirupsen/logrus"
)

// BridgeSource tells the server where the process's Kafka bridge is in its
// life. /readyz answers 200 only while it reports bridge.StateReady, and
// /metrics exposes it as evsim_bridge_state. It is called from HTTP handlers,
// so it must be safe for concurrent use and must not block.
type BridgeSource interface {
	BridgeState() (state bridge.State, detail string)
}

// BridgeFunc adapts a function to a BridgeSource.
type BridgeFunc func() (bridge.State, string)

// BridgeState calls f.
func (f BridgeFunc) BridgeState() (bridge.State, string) { return f() }

// BridgeStatus is a BridgeSource that an actor keeps up to date: the actor
// that receives *bridge.StateChanged (after sending bridge.WatchState) calls
// Set, the server reads it. The zero value reports bridge.StateWaiting.
type BridgeStatus struct {
	v atomic.Pointer[bridge.StateChanged]
}

// Set records the bridge's state.
func (b *BridgeStatus) Set(state bridge.State, detail string) {
	b.v.Store(&bridge.StateChanged{State: state, Detail: detail})
}

// BridgeState implements BridgeSource.
func (b *BridgeStatus) BridgeState() (bridge.State, string) {
	if c := b.v.Load(); c != nil {
		return c.State, c.Detail
	}
	return bridge.StateWaiting, ""
}

// Options configures a Server. Panel, Bridge and Run are required; every
// other field has a default, stated on the field.
type Options struct {
	// Addr is where Start listens. Default "127.0.0.1:8080"; "127.0.0.1:0"
	// picks a free port (see Server.Addr).
	Addr string
	// Panel is Central seen from outside the actor system.
	Panel central.Panel
	// Bridge reports the Kafka bridge's state for /readyz and /metrics.
	Bridge BridgeSource
	// Run holds the process's counters, exported on /metrics.
	Run *stats.Run
	// OperatorToken allows the operator actions (stop, resume, KO) when a
	// request carries "Authorization: Bearer <token>". Default "": the panel
	// and the API are read-only and every action answers 403.
	OperatorToken string
	// Audit, when it holds a log, records every operator action and wrong
	// operator token, and is readable at GET /api/audit (operator token).
	// It may be filled after the server starts (the log may open later).
	// Default nil: /api/audit answers 404.
	Audit *AuditSlot
	// Drivers holds the driver desk that the driver app (/driver) acts
	// through; it may be filled after the server starts. Default nil: the
	// driver app's actions answer 503.
	Drivers *DriverSlot
	// Tickets is Central's ticket history (a *store.Store), for the driver
	// app. Default nil: a driver's tickets answer 404.
	Tickets TicketHistory
	// Logger receives the server's lines (component "Web"). Default: discard.
	Logger logrus.FieldLogger

	// RequestTimeout bounds each call to Central. Default 5 s.
	RequestTimeout time.Duration
	// FeedSize is how many recent events the page gets when it (re)connects.
	// Default 200 (what the page keeps).
	FeedSize int
	// FlushInterval is how often a live stream sends the changes it has
	// collected; updates in between are merged per charge point. Default 250 ms.
	FlushInterval time.Duration
	// PingInterval is how often a live stream sends a ping, so that the page
	// notices a dead connection. Default 10 s.
	PingInterval time.Duration
	// ResyncInterval is how often a live stream sends a whole new snapshot,
	// as a safety net for anything a watch missed. Default 30 s.
	ResyncInterval time.Duration
	// RestartCheckInterval is how often a live stream asks Central for its
	// oldest event, to notice a restart of Central under the watch. Default 2 s.
	RestartCheckInterval time.Duration
	// MaxStreamClients is how many live streams may be open at once; one
	// more is answered 503 with Retry-After. Default 500.
	MaxStreamClients int
	// StreamQueue is how many messages a live stream may fall behind before
	// it is dropped (its browser reconnects to a fresh snapshot). Default 64.
	StreamQueue int
	// SeriesInterval is how often the counters behind the panel's plots
	// are sampled (GET /api/series). Default 2 s.
	SeriesInterval time.Duration
	// SeriesPoints is how many samples are kept. Default 1800 (an hour at 2 s).
	SeriesPoints int
	// MemberTimeout bounds each call to another Central of a shared group
	// (GET /api/cluster/chargepoints asks each for its list). Default 2 s.
	MemberTimeout time.Duration
	// ReleaseMemoryAfter: when at least this many live streams were open at
	// once and the last one closes, the server hands the memory they used
	// back to the system (debug.FreeOSMemory). Default 100; negative = never.
	ReleaseMemoryAfter int
}

func (o *Options) setDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.Logger == nil {
		o.Logger = logging.Discard()
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.FeedSize <= 0 {
		o.FeedSize = 200
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 250 * time.Millisecond
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = 30 * time.Second
	}
	if o.RestartCheckInterval <= 0 {
		o.RestartCheckInterval = 2 * time.Second
	}
	if o.MaxStreamClients <= 0 {
		o.MaxStreamClients = 500
	}
	if o.StreamQueue <= 0 {
		o.StreamQueue = 64
	}
	if o.SeriesInterval <= 0 {
		o.SeriesInterval = 2 * time.Second
	}
	if o.SeriesPoints <= 0 {
		o.SeriesPoints = 1800
	}
	if o.MemberTimeout <= 0 {
		o.MemberTimeout = 2 * time.Second
	}
	if o.ReleaseMemoryAfter == 0 {
		o.ReleaseMemoryAfter = 100
	}
}

// Validate says which required field is missing.
func (o *Options) Validate() error {
	switch {
	case o.Panel == nil:
		return errors.New("web: Options.Panel is required (Central's panel)")
	case o.Bridge == nil:
		return errors.New("web: Options.Bridge is required (the bridge's state, for /readyz)")
	case o.Run == nil:
		return errors.New("web: Options.Run is required (the run's counters, for /metrics)")
	case o.FeedSize > maxEventLimit:
		return errors.New("web: Options.FeedSize must be at most 1000")
	}
	return nil
}
