package registry

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// Registry is the charge points' registry. Its methods are safe for
// concurrent use: they hand work to the goroutine that owns the state.
type Registry struct {
	opts  Options
	key   ed25519.PrivateKey
	kid   string
	work  chan func(*state)
	quit  chan struct{}
	done  chan struct{}
	dummy []byte // a hash compared against when the id is unknown, so timing does not tell
}

// state is owned by the Registry's goroutine alone.
type state struct {
	cps      map[string]*chargePoint
	failures map[string]*failures
}

// Caller says who asks, from where, under which request id (for the audit).
type Caller struct {
	Who       string
	Source    string
	RequestID string
}

// View is a charge point as the API shows it: never a secret.
type View struct {
	ID             string    `json:"id"`
	Location       string    `json:"location"`
	PriceEURPerKWh float64   `json:"price_eur_kwh"`
	State          string    `json:"state"`
	TokenVersion   uint64    `json:"token_version"`
	RegisteredAt   time.Time `json:"registered_at"`
	ChangedAt      time.Time `json:"changed_at"`
}

// New opens the Registry in o.DataDir (creating its key on first start),
// publishes its key and every charge point, and starts its owner.
func New(o Options) (*Registry, error) {
	o.setDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("registry data dir: %w", err)
	}
	key, created, err := loadOrCreateKey(o.DataDir)
	if err != nil {
		return nil, err
	}
	cps, err := loadState(o.DataDir)
	if err != nil {
		return nil, err
	}
	dummy, err := hashCredential("not-a-credential", o.BcryptCost)
	if err != nil {
		return nil, err
	}
	r := &Registry{
		opts: o, key: key, kid: KeyID(key.Public().(ed25519.PublicKey)),
		work: make(chan func(*state)), quit: make(chan struct{}), done: make(chan struct{}), dummy: dummy,
	}
	if created {
		o.Logger.WithField("key_id", r.kid).Info("Created the Registry's signing key")
	}
	st := &state{cps: cps, failures: map[string]*failures{}}
	r.publishKey()
	for _, cp := range sortedCPs(cps) {
		r.publish(cp)
	}
	go r.run(st)
	return r, nil
}

func (r *Registry) run(st *state) {
	defer close(r.done)
	for {
		select {
		case f := <-r.work:
			f(st)
		case <-r.quit:
			return
		}
	}
}

// do runs f on the owner and waits for it.
func (r *Registry) do(f func(*state)) error {
	finished := make(chan struct{})
	select {
	case r.work <- func(st *state) { defer close(finished); f(st) }:
	case <-r.done:
		return ErrClosed
	}
	<-finished
	return nil
}

// Close stops the owner. Later calls answer ErrClosed.
func (r *Registry) Close() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}

// PublicKey is the key that verifies the Registry's tokens.
func (r *Registry) PublicKey() ed25519.PublicKey { return r.key.Public().(ed25519.PublicKey) }

// KeyID is the "kid" of the Registry's tokens.
func (r *Registry) KeyID() string { return r.kid }

// Republish sends the key and every charge point again (e.g. when the
// bridge comes back after the topic was lost): the topic is compacted, so
// repeating is harmless.
func (r *Registry) Republish() error {
	return r.do(func(st *state) {
		r.publishKey()
		for _, cp := range sortedCPs(st.cps) {
			r.publish(cp)
		}
	})
}

// Records answers what the registry topic holds, as of now: the key and
// the latest record of every charge point.
func (r *Registry) Records() []proto.Message {
	var out []proto.Message
	_ = r.do(func(st *state) {
		out = append(out, r.keyRecord())
		for _, cp := range sortedCPs(st.cps) {
			out = append(out, r.identityOf(cp))
		}
	})
	return out
}

func (r *Registry) keyRecord() *messages.RegistryKey {
	return &messages.RegistryKey{KeyId: r.kid, PublicKey: r.PublicKey(), PublishedAt: timestamppb.New(r.opts.Now())}
}

func (r *Registry) publishKey() {
	r.opts.Publish("key:"+r.kid, r.keyRecord())
}

func (r *Registry) publish(cp *chargePoint) {
	r.opts.Publish(cp.ID, r.identityOf(cp))
}

func (r *Registry) identityOf(cp *chargePoint) *messages.ChargePointIdentity {
	return &messages.ChargePointIdentity{
		CpId: cp.ID, State: cp.State, TokenVersion: cp.TokenVersion, Location: cp.Location,
		PriceEurPerKwh: cp.PriceEURPerKWh, ChangedAt: timestamppb.New(cp.ChangedAt), RegistryKeyId: r.kid,
	}
}

// audit records an event; a failure to write it is logged (the action
// itself has happened and is reported to the caller either way).
func (r *Registry) audit(c Caller, action, target, outcome, detail string) {
	_, err := r.opts.Audit.Append(audit.Event{
		Who: c.Who, Source: c.Source, Action: action, Target: target, Outcome: outcome, RequestID: c.RequestID, Detail: detail,
	})
	if err != nil {
		r.opts.Logger.WithField("error", err).Error("Cannot write the audit log")
	}
}

func sortedCPs(cps map[string]*chargePoint) []*chargePoint {
	out := make([]*chargePoint, 0, len(cps))
	for _, cp := range cps {
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func viewOf(cp *chargePoint) View {
	return View{
		ID: cp.ID, Location: cp.Location, PriceEURPerKWh: cp.PriceEURPerKWh, State: StateName(cp.State),
		TokenVersion: cp.TokenVersion, RegisteredAt: cp.RegisteredAt, ChangedAt: cp.ChangedAt,
	}
}

// StateName is the API's word for a state.
func StateName(s messages.IdentityState) string {
	switch s {
	case messages.IdentityState_IDENTITY_STATE_REGISTERED:
		return "registered"
	case messages.IdentityState_IDENTITY_STATE_REVOKED:
		return "revoked"
	case messages.IdentityState_IDENTITY_STATE_DEREGISTERED:
		return "deregistered"
	}
	return "unknown"
}
