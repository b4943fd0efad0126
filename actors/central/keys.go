package central

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// Keys: where Central seals its traffic with each charge point
// (Config.Keys), it issues a charge point its key when its monitor's
// registration is accepted (the same key again on a re-registration),
// hands it over in the registration reply and, while the monitor's
// liveness names another key id for its engine, in the liveness ack. An
// issued key is staged (it opens, seals nothing) until a liveness names it:
// then the engine holds it and Central seals with it too, so that no
// command goes out under a key the engine does not have yet. The bridge seals and opens
// with the keyring; Central hears of records that did not open
// (*bridge.Refused) and shows the charge point ENCRYPTION_ERROR for
// Config.EncryptionErrorHold after the last one. An operator revokes a
// charge point's keys (REVOKED, its traffic is refused, a running supply
// ends with its ticket) or rotates them (a new current key; records sealed
// under the previous one still open).

// Panel events of keys.
const (
	EventKeyIssued       = "key-issued"
	EventKeyRevoked      = "key-revoked"
	EventEncryptionError = "encryption-error"
)

// RevokeKey revokes every key of a charge point: its records are refused
// and it shows REVOKED until RotateKey issues a new one. Central answers
// with *OperatorResult.
type RevokeKey struct{ CPID string }

// RotateKey issues a charge point a new key (also after a revocation); the
// previous key still opens records sealed before. Central answers with
// *OperatorResult.
type RotateKey struct{ CPID string }

// KeyOperator is the key actions of a Panel (the actor panel has them;
// test panels may not).
type KeyOperator interface {
	RevokeKey(ctx context.Context, cpID string) (*OperatorResult, error)
	RotateKey(ctx context.Context, cpID string) (*OperatorResult, error)
}

func (p *actorPanel) RevokeKey(ctx context.Context, cpID string) (*OperatorResult, error) {
	return p.operator(ctx, &RevokeKey{CPID: cpID})
}

func (p *actorPanel) RotateKey(ctx context.Context, cpID string) (*OperatorResult, error) {
	return p.operator(ctx, &RotateKey{CPID: cpID})
}

// cpSeal is what Central knows of a charge point's keys.
type cpSeal struct {
	revoked    bool
	encError   string    // why its last refused record did not open
	encErrorAt time.Time // when
}

// sealState is Central's side of the keys.
type sealState struct {
	encErrors map[string]bool // charge points shown ENCRYPTION_ERROR, for the expiry
}

// keyTick expires ENCRYPTION_ERROR states.
type keyTick struct{}

const encryptionOffText = "encryption is off: there are no keys"

// startKeys loads the stored keys into the keyring (unwrapped with the
// master key).
func (c *Central) startKeys(ctx actor.Context) {
	c.sealing.encErrors = map[string]bool{}
	if c.cfg.Keys == nil {
		return
	}
	c.timers.Every(time.Second, &keyTick{})
	rows, err := c.cfg.Store.Keys(context.Background())
	if err != nil {
		c.log.WithError(err).Warn("Could not load the charge points' keys; each gets a new one when it registers")
		return
	}
	byCP := map[string][]store.KeyRow{}
	for _, r := range rows {
		byCP[r.CPID] = append(byCP[r.CPID], r)
	}
	unopened := 0
	for id, rs := range byCP {
		var current, previous *store.KeyRow
		revoked := false
		for i := range rs {
			switch rs[i].State {
			case store.KeyCurrent:
				current = &rs[i]
			case store.KeyPrevious:
				previous = &rs[i]
			case store.KeyRevoked:
				revoked = true
			}
		}
		if current == nil {
			if revoked {
				c.cfg.Keys.Revoke(id)
				if cp := c.cps[id]; cp != nil {
					cp.seal.revoked = true
					cp.state, cp.reason = cp.derive()
				}
			}
			continue
		}
		for _, r := range []*store.KeyRow{previous, current} {
			if r == nil {
				continue
			}
			k, err := c.cfg.MasterKey.Unwrap(r.CPID, r.KeyID, r.Wrapped)
			if err != nil {
				unopened++
				continue
			}
			c.cfg.Keys.Install(k)
		}
	}
	if unopened > 0 {
		c.log.Warnf("%d stored charge point keys do not open with %s (was the database written with another master key?); those charge points get new keys when they register",
			unopened, c.cfg.MasterKey)
	}
}

// watchRefusals asks the bridge for the records it refuses (repeated with
// the subscriptions, so that a restarted bridge hears it again).
func (c *Central) watchRefusals(ctx actor.Context) {
	if c.cfg.Keys != nil {
		ctx.Send(c.cfg.Bridge, &bridge.WatchRefusals{Watcher: ctx.Self()})
	}
}

// keyFor is the key a registered charge point's monitor is handed: its
// current key (issued now if it has none), or its revocation.
func (c *Central) keyFor(cp *cpEntry) *messages.ChargePointKey {
	if c.cfg.Keys == nil {
		return nil
	}
	id := cp.reg.ID
	if c.revokedInGroup(id) {
		cp.seal.revoked = true // revoked by the Central that owned it before
	}
	if cp.seal.revoked {
		return &messages.ChargePointKey{CpId: id, Revoked: true}
	}
	if k, ok := c.cfg.Keys.Staged(id); ok {
		return k.Proto()
	}
	if k, ok := c.cfg.Keys.Current(id); ok {
		return k.Proto()
	}
	k, err := c.issueKey(id, "issue", !c.cfg.Keys.Knows(id))
	if err != nil {
		c.log.WithError(err).WithField("cp_id", id).Warnf("Could not issue a key to %s; its records wait until it has one", id)
		return nil
	}
	return k.Proto()
}

// attachKey puts into a liveness ack the key (or revocation) that the
// engine, which holds keyID, does not have yet; a staged key that the
// engine holds becomes the one Central seals with.
func (c *Central) attachKey(cp *cpEntry, keyID string, ack *messages.LivenessAck) {
	if c.cfg.Keys == nil {
		return
	}
	id := cp.reg.ID
	if cp.seal.revoked {
		if keyID != "" {
			ack.Key = &messages.ChargePointKey{CpId: id, Revoked: true}
		}
		return
	}
	if k, ok := c.cfg.Keys.Staged(id); ok {
		if k.ID == keyID {
			c.cfg.Keys.Install(k)
			c.log.WithFields(logrus.Fields{"cp_id": id, "key_id": k.ID}).Debugf("The engine of %s holds key %s: sealing with it", id, k.ID)
			return
		}
	} else if k, ok := c.cfg.Keys.Current(id); ok && k.ID == keyID {
		return
	}
	ack.Key = c.keyFor(cp)
}

// issueKey makes, stores (wrapped) and stages a new key for id; first: id
// has no key stored yet (a cheaper write).
func (c *Central) issueKey(id, action string, first bool) (*seal.Key, error) {
	k, err := seal.NewKey(id)
	if err != nil {
		return nil, err
	}
	row := store.KeyRow{KeyID: k.ID, CPID: id, Wrapped: c.cfg.MasterKey.Wrap(k), MasterID: c.cfg.MasterKey.ID, CreatedAt: c.cfg.Now()}
	save := c.cfg.Store.SaveKey
	if first {
		save = c.cfg.Store.AddFirstKey
	}
	if err := save(context.Background(), row); err != nil {
		return nil, err
	}
	c.cfg.Keys.Stage(k)
	c.shareKeys(id)
	c.audit(audit.Event{Who: "central", Action: "key." + action, Target: id, Outcome: audit.OutcomeOK, Detail: "key id " + k.ID})
	c.log.WithFields(logrus.Fields{"cp_id": id, "key_id": k.ID}).Debugf("Issued key %s to %s", k.ID, id)
	return k, nil
}

func (c *Central) revokeKey(ctx actor.Context, m *RevokeKey) *OperatorResult {
	cp, errText := c.keyTarget(m.CPID)
	switch {
	case errText != "":
		return &OperatorResult{Err: errText}
	case cp.seal.revoked:
		return &OperatorResult{Err: fmt.Sprintf("the keys of %s are revoked already; rotate to issue a new one", m.CPID)}
	}
	id := cp.reg.ID
	c.cfg.Keys.Revoke(id)
	if err := c.cfg.Store.RevokeKeys(context.Background(), id); err != nil {
		c.log.WithError(err).WithField("cp_id", id).Warnf("Could not record the revocation of %s's keys; it holds until Central restarts", id)
	}
	cp.seal.revoked = true
	c.shareKeys(id)
	c.clearEncError(cp)
	c.audit(audit.Event{Who: "operator", Action: "key.revoke", Target: id, Outcome: audit.OutcomeOK})
	c.log.WithField("cp_id", id).Warnf("%s REVOKED: its keys were revoked by the operator; Central ignores its traffic until a new key is issued", id)
	c.event(EventKeyRevoked, id, "", fmt.Sprintf("%s REVOKED: keys revoked by the operator", id))
	c.endForRevocation(ctx, cp)
	c.update(ctx, cp)
	return &OperatorResult{Affected: 1}
}

func (c *Central) rotateKey(ctx actor.Context, m *RotateKey) *OperatorResult {
	cp, errText := c.keyTarget(m.CPID)
	if errText != "" {
		return &OperatorResult{Err: errText}
	}
	id := cp.reg.ID
	k, err := c.issueKey(id, "rotate", false)
	if err != nil {
		c.log.WithError(err).WithField("cp_id", id).Warnf("Could not issue a new key to %s", id)
		return &OperatorResult{Err: "could not issue a new key: " + err.Error()}
	}
	was := cp.seal.revoked
	cp.seal.revoked = false
	c.clearEncError(cp)
	text := fmt.Sprintf("Issued a new key to %s (%s); its monitor gets it with its next liveness", id, k.ID)
	if was {
		text = fmt.Sprintf("Issued a new key to %s (%s) after its revocation; its monitor gets it with its next liveness", id, k.ID)
	}
	c.log.WithFields(logrus.Fields{"cp_id": id, "key_id": k.ID}).Info(text)
	c.event(EventKeyIssued, id, "", text)
	c.update(ctx, cp)
	return &OperatorResult{Affected: 1}
}

func (c *Central) keyTarget(id string) (*cpEntry, string) {
	switch {
	case c.cfg.Keys == nil:
		return nil, encryptionOffText
	case id == "":
		return nil, "a key action needs a charge point id"
	case c.cps[id] == nil:
		return nil, "unknown charge point " + id
	}
	return c.cps[id], ""
}

// endForRevocation ends the supply running on a charge point whose keys
// were revoked with its ticket now, for what was measured: its engine's
// own end cannot be read any more (and is a duplicate if it comes later,
// sealed with a new key).
func (c *Central) endForRevocation(ctx actor.Context, cp *cpEntry) {
	id := cp.reg.ID
	if p := cp.pending; p != nil && !p.revoked {
		c.holdStartAtRevocation(ctx, cp) // answered when its START expires at the latest (revokedstart.go)
	}
	s := cp.session
	if s == nil {
		return
	}
	c.notice(ctx, s.DriverID, id, s.SessionID, fmt.Sprintf("%s is REVOKED; your supply ends now and you get a ticket for what was delivered", id))
	c.supplyEnded(ctx, &messages.SupplyEnded{
		SessionId: s.SessionID, RequestId: cp.request, DriverId: s.DriverID, CpId: id,
		Kwh: s.KWh, Eur: s.EUR, PriceEurPerKwh: cp.reg.PriceEURPerKWh,
		StartedAt: timestamppb.New(s.StartedAt), EndedAt: timestamppb.New(c.cfg.Now()),
		Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL,
	})
}

// refused notes a record of a charge point that did not open: shown as
// ENCRYPTION_ERROR (one event and audit record per episode); the bridge
// logged the WARN. Records under revoked keys are expected: ignored.
func (c *Central) refused(ctx actor.Context, r *bridge.Refused) {
	cp := c.cps[r.Key]
	if cp == nil || c.cfg.Keys == nil {
		return
	}
	if cp.seal.revoked && (errors.Is(r.Err, seal.ErrRevokedKey) || errors.Is(r.Err, seal.ErrUnknownKey)) {
		return
	}
	id := cp.reg.ID
	reason := fmt.Sprintf("a record on %s did not open: %v", r.Topic, r.Err)
	first := cp.seal.encError == ""
	cp.seal.encError, cp.seal.encErrorAt = reason, c.cfg.Now()
	c.sealing.encErrors[id] = true
	if first {
		c.event(EventEncryptionError, id, "", fmt.Sprintf("%s ENCRYPTION_ERROR: %s", id, reason))
		c.audit(audit.Event{Who: "kafka", Action: "record.refused", Target: id, Outcome: audit.OutcomeDenied,
			Detail: fmt.Sprintf("%s partition %d offset %d key id %q: %v", r.Topic, r.Partition, r.Offset, r.KeyID, r.Err)})
	}
	c.update(ctx, cp)
}

// expireEncErrors ends ENCRYPTION_ERROR states whose last refused record
// is older than EncryptionErrorHold.
func (c *Central) expireEncErrors(ctx actor.Context) {
	now := c.cfg.Now()
	for id := range c.sealing.encErrors {
		cp := c.cps[id]
		if cp == nil {
			delete(c.sealing.encErrors, id)
			continue
		}
		if now.Sub(cp.seal.encErrorAt) < c.cfg.EncryptionErrorHold {
			continue
		}
		c.clearEncError(cp)
		c.log.WithField("cp_id", id).Infof("%s: no record failed to open for %v; its encryption error is cleared", id, c.cfg.EncryptionErrorHold)
		c.update(ctx, cp)
	}
}

func (c *Central) clearEncError(cp *cpEntry) {
	cp.seal.encError = ""
	delete(c.sealing.encErrors, cp.reg.ID)
}
