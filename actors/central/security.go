package central

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// Security: where Central verifies the Registry's tokens (Config.Verifier),
// a monitor registers with its charge point's token; Central checks it
// offline against the Registry's records on the registry topic, and a
// revocation, deregistration or renewed credential in those records ends
// the charge point's registration at once (a running supply ends with its
// ticket). Nothing but a valid token of the current version brings it back.

// registryGroup is the consumer group of the registry topic: one of this
// Central's life, so that it reads the topic from its beginning (the
// latest record of every charge point, the topic being compacted).
func (c *Central) registryGroup() string { return c.cfg.Group + "-registry-" + c.instance }

// identityDenial is why a token is refused, and how the panel shows it.
type identityDenial struct {
	state  messages.ChargePointState
	reason string
}

// checkToken verifies a registration's token. It answers the token's
// claims on success; a denial; or, while Central may not have read the
// Registry's records yet, what it waits for.
func (c *Central) checkToken(m *messages.RegisterChargePoint, now time.Time) (*registry.Claims, *identityDenial, string) {
	v := c.verifier
	claims, err := v.Verify(m.GetCpId(), m.GetToken())
	switch {
	case err == nil:
		return claims, nil, ""
	case errors.Is(err, registry.ErrNoRegistryKey):
		return nil, nil, "Central is waiting for the Registry's records"
	case errors.Is(err, registry.ErrUnregistered):
		if _, known := v.Identity(m.GetCpId()); !known && now.Sub(c.startedAt) < c.cfg.RegistryGrace {
			return nil, nil, "Central is reading the Registry's records"
		}
		return nil, &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED, "not registered in the Registry"}, ""
	case errors.Is(err, registry.ErrTokenRevoked):
		return nil, &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "revoked in the Registry"}, ""
	case errors.Is(err, registry.ErrTokenMissing):
		return nil, c.noToken(m, now), ""
	}
	return nil, &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, err.Error()}, ""
}

// registryRecord applies a record of the registry topic and acts on a
// change of a charge point Central knows.
func (c *Central) registryRecord(ctx actor.Context, msg proto.Message) {
	if c.verifier == nil || !c.verifier.Apply(msg) {
		return
	}
	rec, ok := msg.(*messages.ChargePointIdentity)
	if !ok {
		return
	}
	cp := c.cps[rec.GetCpId()]
	if cp == nil {
		return
	}
	switch rec.GetState() {
	case messages.IdentityState_IDENTITY_STATE_REVOKED:
		c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "revoked in the Registry")
	case messages.IdentityState_IDENTITY_STATE_DEREGISTERED:
		c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED, "deregistered from the Registry")
	case messages.IdentityState_IDENTITY_STATE_REGISTERED:
		if cp.alive && cp.tokenVersion != rec.GetTokenVersion() {
			c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "its credential was renewed in the Registry; it must register with a new token")
		} else if !cp.alive && cp.identity != nil {
			cp.identity = nil // registered anew: shown DISCONNECTED until its monitor registers
			c.update(ctx, cp)
		}
	}
}

// identityLost ends a charge point's registration: its monitor is no
// longer heard (its next liveness is told to register, and its token is
// checked again), a running supply ends with its ticket, one WARN line.
func (c *Central) identityLost(ctx actor.Context, cp *cpEntry, state messages.ChargePointState, reason string) {
	id := cp.reg.ID
	d := &identityDenial{state, reason}
	rejected := state == messages.ChargePointState_CHARGE_POINT_STATE_REJECTED
	if !cp.alive && (rejected && cp.identity == nil && cp.rejected == reason || cp.identity != nil && *cp.identity == *d) {
		return // known already: one WARN
	}
	cp.alive, cp.monitor = false, nil
	c.rejected[id] = reason // its monitor's next attempt, refused for this reason, is not a second WARN
	if rejected {
		cp.identity, cp.rejected, cp.rejectedAt = nil, reason, c.cfg.Now()
	} else {
		cp.identity = d
	}
	c.log.WithField("cp_id", id).Warnf("%s %s: %s; Central refuses it from now on", id, StateName(state), reason)
	c.event(EventRejected, id, "", fmt.Sprintf("%s %s: %s", id, StateName(state), reason))
	c.audit(audit.Event{Who: "registry", Action: "cp.refused", Target: id, Outcome: audit.OutcomeOK, Detail: reason})
	c.interrupt(ctx, cp, messages.EndReason_END_REASON_STOPPED_BY_CENTRAL, messages.DenyReason_DENY_REASON_DISCONNECTED,
		fmt.Sprintf("%s is %s (%s); your supply ends now and you get a ticket for what was delivered", id, StateName(state), reason))
	c.update(ctx, cp)
}

// stillValid re-checks an admitted charge point against the latest records
// (on every liveness, so nothing but its registration keeps it in).
func (c *Central) stillValid(ctx actor.Context, cp *cpEntry) bool {
	if c.verifier == nil {
		return true
	}
	err := c.verifier.StillValid(cp.reg.ID, cp.tokenVersion)
	switch {
	case err == nil:
		return true
	case errors.Is(err, registry.ErrTokenRevoked):
		c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "revoked in the Registry")
	case errors.Is(err, registry.ErrUnregistered):
		c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED, "deregistered from the Registry")
	default:
		c.identityLost(ctx, cp, messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "its credential was renewed in the Registry; it must register with a new token")
	}
	return false
}

// sameRegistration says whether a liveness or fault report carries the id
// of the charge point's accepted registration (where tokens are verified):
// a message that only borrows the monitor's address does not.
func (c *Central) sameRegistration(cp *cpEntry, id string) bool {
	if c.verifier == nil {
		return true
	}
	return id != "" && subtle.ConstantTimeCompare([]byte(id), []byte(cp.registrationID)) == 1
}

// newRegistrationID is 128 random bits in hex.
func newRegistrationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// audit appends to Central's audit log, when it has one.
func (c *Central) audit(e audit.Event) {
	if c.cfg.Audit == nil {
		return
	}
	if _, err := c.cfg.Audit.Append(e); err != nil {
		c.log.WithError(err).Error("Cannot write the audit log")
	}
}

// subscribeRegistry reads the registry topic (where tokens are verified).
func (c *Central) subscribeRegistry(ctx actor.Context, unsubscribe bool) {
	if c.verifier == nil {
		return
	}
	if unsubscribe {
		ctx.Send(c.cfg.Bridge, &bridge.Unsubscribe{Topic: bridge.TopicRegistry, Group: c.registryGroup(), Subscriber: ctx.Self()})
		return
	}
	ctx.Send(c.cfg.Bridge, &bridge.Subscribe{Topic: bridge.TopicRegistry, Group: c.registryGroup(), Subscriber: ctx.Self()})
}

// registryIdentity is the Registry's record of a charge point, if Central
// verifies tokens and has one.
func (c *Central) registryIdentity(id string) (*messages.ChargePointIdentity, bool) {
	if c.verifier == nil {
		return nil, false
	}
	return c.verifier.Identity(id)
}
