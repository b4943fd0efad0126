package registry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// Registration is what the operator registers.
type Registration struct {
	ID             string
	Location       string
	PriceEURPerKWh float64
	// Rotate renews the credential of a registered (or revoked) charge
	// point instead of refusing with ErrExists.
	Rotate bool
}

// Registered is the answer to a registration: the credential, shown once.
type Registered struct {
	ID         string
	Credential string
	// Rotated is true when an existing charge point got a new credential.
	Rotated bool
	View    View
}

// Register adds a charge point (or renews its credential when g.Rotate)
// and answers its credential. Its token version rises, so every token of
// its past is refused from now on.
func (r *Registry) Register(c Caller, g Registration) (Registered, error) {
	g.Location = strings.TrimSpace(g.Location)
	if err := validateRegistration(g); err != nil {
		r.audit(c, "register", g.ID, audit.OutcomeDenied, err.Error())
		return Registered{}, err
	}
	credential, err := newCredential()
	if err != nil {
		return Registered{}, err
	}
	hash, err := hashCredential(credential, r.opts.BcryptCost) // slow: off the owner
	if err != nil {
		return Registered{}, err
	}
	var out Registered
	var opErr error
	err = r.do(func(st *state) {
		now := r.opts.Now()
		cp := st.cps[g.ID]
		next, live, err := registered(cp, g, hash, now)
		if err != nil {
			opErr = err
			r.audit(c, "register", g.ID, audit.OutcomeDenied, "already registered")
			return
		}
		if opErr = r.commit(st, cp, next); opErr != nil {
			return
		}
		cp = next
		action := "register"
		if live {
			action = "rotate"
		}
		r.audit(c, action, g.ID, audit.OutcomeOK, fmt.Sprintf("token version %d", cp.TokenVersion))
		r.opts.Logger.WithFields(map[string]any{"cp_id": g.ID, "token_version": cp.TokenVersion}).Infof("Charge point %s %s", g.ID, map[bool]string{false: "registered", true: "re-registered with a new credential"}[live])
		r.publish(cp)
		out = Registered{ID: g.ID, Credential: credential, Rotated: live, View: viewOf(cp)}
	})
	return out, errors.Join(err, opErr)
}

// Deregister removes a charge point: Central refuses it from then on.
func (r *Registry) Deregister(c Caller, id string) error {
	return r.change(c, "deregister", id, messages.IdentityState_IDENTITY_STATE_DEREGISTERED, nil)
}

// Revoke refuses every token of the charge point at once, and any new one,
// until it is registered anew (Register with Rotate).
func (r *Registry) Revoke(c Caller, id string) (View, error) {
	var v View
	err := r.change(c, "revoke", id, messages.IdentityState_IDENTITY_STATE_REVOKED, func(cp *chargePoint) { v = viewOf(cp) })
	return v, err
}

// change moves a live charge point to state, raising its token version.
func (r *Registry) change(c Caller, action, id string, to messages.IdentityState, after func(*chargePoint)) error {
	var opErr error
	err := r.do(func(st *state) {
		cp := st.cps[id]
		if cp == nil || cp.State == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
			opErr = fmt.Errorf("%w: %s", ErrNotFound, id)
			r.audit(c, action, id, audit.OutcomeDenied, "not registered")
			return
		}
		next := *cp
		next.State, next.ChangedAt = to, r.opts.Now()
		next.TokenVersion++
		if to == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
			next.Hash = nil
		}
		if opErr = r.commit(st, cp, &next); opErr != nil {
			return
		}
		cp = &next
		r.audit(c, action, id, audit.OutcomeOK, fmt.Sprintf("token version %d", cp.TokenVersion))
		r.opts.Logger.WithFields(map[string]any{"cp_id": id, "token_version": cp.TokenVersion}).Infof("Charge point %s %s", id, StateName(to))
		r.publish(cp)
		if after != nil {
			after(cp)
		}
	})
	return errors.Join(err, opErr)
}

// registered is cp (nil: none yet) after registration g with the
// credential's hash: its token version raised. live says whether it was
// registered (or revoked) before; then it needs g.Rotate, else ErrExists.
func registered(cp *chargePoint, g Registration, hash []byte, now time.Time) (*chargePoint, bool, error) {
	live := cp != nil && cp.State != messages.IdentityState_IDENTITY_STATE_DEREGISTERED
	if live && !g.Rotate {
		return nil, true, fmt.Errorf("%w: %s (rotate to renew its credential)", ErrExists, g.ID)
	}
	next := chargePoint{ID: g.ID}
	if cp != nil {
		next = *cp
	}
	if !live {
		next.RegisteredAt = now
	}
	next.Location, next.PriceEURPerKWh, next.Hash = g.Location, g.PriceEURPerKWh, hash
	next.State, next.ChangedAt = messages.IdentityState_IDENTITY_STATE_REGISTERED, now
	next.TokenVersion++
	return &next, live, nil
}

// commit puts next in place of prev (nil: none) and saves the state; when
// the save fails, prev is put back and nothing has changed.
func (r *Registry) commit(st *state, prev, next *chargePoint) error {
	st.cps[next.ID] = next
	err := saveState(r.opts.DataDir, st.cps)
	if err != nil {
		if prev == nil {
			delete(st.cps, next.ID)
		} else {
			st.cps[next.ID] = prev
		}
	}
	return err
}

// Get answers one charge point (a deregistered one is ErrNotFound).
func (r *Registry) Get(id string) (View, error) {
	var v View
	var opErr error
	err := r.do(func(st *state) {
		cp := st.cps[id]
		if cp == nil || cp.State == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
			opErr = fmt.Errorf("%w: %s", ErrNotFound, id)
			return
		}
		v = viewOf(cp)
	})
	return v, errors.Join(err, opErr)
}

// List answers up to limit charge points whose id sorts after `after`
// (deregistered ones left out), and the id to continue from ("" at the end).
func (r *Registry) List(after string, limit int) ([]View, string, error) {
	var out []View
	var next string
	err := r.do(func(st *state) {
		for _, cp := range sortedCPs(st.cps) {
			if cp.ID <= after || cp.State == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return
			}
			out = append(out, viewOf(cp))
		}
	})
	return out, next, err
}

// RegisterAll registers (or, with Rotate, renews) many charge points with
// one save of the state: for a whole network at start-up. Credentials are
// hashed on parallel goroutines first. It stops at the first invalid or
// conflicting registration, having applied none of them.
func (r *Registry) RegisterAll(c Caller, gs []Registration) ([]Registered, error) {
	creds := make([]string, len(gs))
	hashes := make([][]byte, len(gs))
	errs := make([]error, len(gs))
	onEveryCore(len(gs), func(i int) {
		gs[i].Location = strings.TrimSpace(gs[i].Location)
		if errs[i] = validateRegistration(gs[i]); errs[i] != nil {
			return
		}
		if creds[i], errs[i] = newCredential(); errs[i] == nil {
			hashes[i], errs[i] = hashCredential(creds[i], r.opts.BcryptCost)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]Registered, 0, len(gs))
	var opErr error
	err := r.do(func(st *state) {
		now := r.opts.Now()
		nexts := make([]*chargePoint, len(gs))
		for i, g := range gs {
			next, _, err := registered(st.cps[g.ID], g, hashes[i], now)
			if err != nil {
				opErr = err
				return
			}
			nexts[i] = next
		}
		prev := make(map[string]*chargePoint, len(st.cps))
		for id, cp := range st.cps {
			prev[id] = cp
		}
		for _, n := range nexts {
			st.cps[n.ID] = n
		}
		if opErr = saveState(r.opts.DataDir, st.cps); opErr != nil {
			st.cps = prev
			return
		}
		if len(nexts) > 0 {
			r.opts.Logger.Infof("Registered %d charge points (%s to %s), each with a new credential", len(nexts), nexts[0].ID, nexts[len(nexts)-1].ID)
		}
		for i, n := range nexts {
			r.opts.Logger.WithFields(map[string]any{"cp_id": n.ID, "token_version": n.TokenVersion}).Debugf("Charge point %s registered", n.ID)
			r.audit(c, "register", n.ID, audit.OutcomeOK, fmt.Sprintf("token version %d", n.TokenVersion))
			r.publish(n)
			out = append(out, Registered{ID: n.ID, Credential: creds[i], Rotated: n.TokenVersion > 1, View: viewOf(n)})
		}
	})
	return out, errors.Join(err, opErr)
}
