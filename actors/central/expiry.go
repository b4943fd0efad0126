package central

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// Tokens after registration: a token is checked when the monitor registers
// with it, and it expires. The monitor renews it before (it registers
// again with a fresh token: a renewal keeps its registration, its id and
// its running supply). A registration whose token expired without renewal
// ends: a denial with the reason, one WARN, a running supply ends with its
// ticket; a fresh token brings it back.

// renewal handles a registration from the monitor already registered for
// cp: a renewed token. It answers true when it has answered the monitor.
func (c *Central) renewal(ctx actor.Context, cp *cpEntry, version uint64, expires time.Time, reply *messages.RegistrationResult, source string) bool {
	if cp == nil || !cp.alive || !cp.isMonitor(ctx.Sender()) || cp.registrationID == "" {
		return false
	}
	id := cp.reg.ID
	cp.tokenVersion, cp.tokenExpires, cp.lastSeen = version, expires, c.cfg.Now()
	reply.Accepted, reply.RegistrationId = true, cp.registrationID
	ctx.Respond(reply)
	c.log.WithField("cp_id", id).Debugf("%s renewed its token (version %d, valid until %s)", id, version, expires.UTC().Format(time.RFC3339))
	c.audit(audit.Event{Who: "cp:" + id, Source: source, Action: "token.renew", Target: id, Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("token version %d, expires %s", version, expires.UTC().Format(time.RFC3339))})
	return true
}

// tokenExpired ends the registration of a live charge point whose token
// expired without renewal (past the verifier's clock-skew leeway, as a
// registration with it would be refused). It answers whether it did.
func (c *Central) tokenExpired(ctx actor.Context, cp *cpEntry, now time.Time) bool {
	if c.verifier == nil || cp.tokenExpires.IsZero() || !c.verifier.ExpiredBy(cp.tokenExpires, now) {
		return false
	}
	id := cp.reg.ID
	reason := "its token expired at " + cp.tokenExpires.UTC().Format(time.RFC3339) + " without renewal"
	cp.alive, cp.monitor = false, nil
	cp.rejected, cp.rejectedAt = reason, now
	c.rejected[id] = reason // its monitor's next attempt, refused for this reason, is not a second WARN
	c.log.WithField("cp_id", id).Warnf("%s REJECTED: %s; Central takes it back when its monitor presents a new token", id, reason)
	c.event(EventRejected, id, "", fmt.Sprintf("%s REJECTED: %s", id, reason))
	c.audit(audit.Event{Who: "central", Action: "cp.refused", Target: id, Outcome: audit.OutcomeOK, Detail: reason})
	c.interrupt(ctx, cp, messages.EndReason_END_REASON_STOPPED_BY_CENTRAL, messages.DenyReason_DENY_REASON_DISCONNECTED,
		fmt.Sprintf("%s's token expired without renewal; your supply ends now and you get a ticket for what was delivered", id))
	c.update(ctx, cp)
	return true
}

// maxNoTokenReason bounds the monitor's reason shown on the panel.
const maxNoTokenReason = 300

// noToken is the denial of a registration without a token: the Registry's
// record says why when it can (revoked, not registered), else the
// monitor's own reason for having none.
func (c *Central) noToken(m *messages.RegisterChargePoint, now time.Time) *identityDenial {
	rec, known := c.verifier.Identity(m.GetCpId())
	switch {
	case known && rec.GetState() == messages.IdentityState_IDENTITY_STATE_REVOKED:
		return &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "revoked in the Registry"}
	case (!known && now.Sub(c.startedAt) >= c.cfg.RegistryGrace) || rec.GetState() == messages.IdentityState_IDENTITY_STATE_DEREGISTERED:
		return &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED, "not registered in the Registry"}
	}
	why := strings.ToValidUTF8(strings.TrimSpace(m.GetNoTokenReason()), "?")
	if why == "" {
		return &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "no token presented (Central requires the Registry's token)"}
	}
	if len(why) > maxNoTokenReason {
		why = why[:maxNoTokenReason] + "..."
	}
	return &identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "no token: its monitor cannot get one from " + why}
}

// registeredElsewhere adds to the panel a charge point Central has not
// seen yet but the Registry has registered, when its monitor is refused
// (e.g. it has no token): the operator sees it refused, with the reason,
// instead of nothing. Ids the Registry does not know are never added.
func (c *Central) registeredElsewhere(id string, now time.Time) *cpEntry {
	rec, ok := c.registryIdentity(id)
	if !ok || rec.GetState() == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
		return nil
	}
	cp := &cpEntry{reg: store.ChargePoint{ID: id, Location: rec.GetLocation(), PriceEURPerKWh: rec.GetPriceEurPerKwh(), RegisteredAt: now},
		engineOK: true, since: now}
	c.cps[id] = cp
	return cp
}
