package chargepoint

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// Keys: the engine gets its charge point's key from its monitor, in a
// health check, and installs it in its process's keyring (Config.Keys),
// which its bridge seals and opens with; its health answers name the key
// id it holds, so the monitor sends a key only when it is news. A
// revocation makes the engine forget its keys and end a running supply
// (Central has ticketed it already): its records wait in the bridge until
// a new key comes.

// takeKey installs the key (or the revocation) a health check carries.
func (e *Engine) takeKey(ctx actor.Context, k *messages.ChargePointKey) {
	if k == nil || e.cfg.Keys == nil || k.GetCpId() != e.cfg.CPID {
		return
	}
	if k.GetRevoked() {
		if e.keyRevoked {
			return
		}
		e.keyRevoked, e.keyID = true, ""
		e.cfg.Keys.Revoke(e.cfg.CPID)
		e.log.Entry().Warn("Central revoked this charge point's keys; nothing is sent until it issues a new key")
		if end := e.m.End(e.cfg.Now(), messages.EndReason_END_REASON_STOPPED_BY_CENTRAL); end != nil {
			e.publishEnd(ctx, end)
		}
		return
	}
	if k.GetKeyId() == e.keyID {
		return
	}
	if err := e.cfg.Keys.InstallProto(k); err != nil {
		e.log.Entry().WithError(err).Warn("Ignored a key from the monitor that cannot be used")
		return
	}
	first := e.keyID == "" // none yet, or none since a revocation
	if !first || e.keyRevoked {
		e.log.Entry().WithField("key_id", k.GetKeyId()).Info("Sealing with a new key from Central")
	}
	e.keyID, e.keyRevoked = k.GetKeyId(), false
	if first {
		e.subscribe(ctx) // the commands can be opened now (again)
	}
}

// waitsForKey says whether the engine must not read its commands yet: it
// has no key to open them (they would be refused and lost). It announces
// its key to the bridge meanwhile, so that a shared consumer holds its
// commands rather than skipping them as another process's.
func (e *Engine) waitsForKey(ctx actor.Context) bool {
	if e.cfg.Keys == nil || e.keyID != "" {
		return false
	}
	ctx.Send(e.cfg.Bridge, &bridge.ExpectKeys{Topic: bridge.TopicCommands, Group: e.cfg.Group, Keys: []string{e.cfg.CPID}})
	return true
}
