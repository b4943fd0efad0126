package central

import (
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// The charge points' keys in a shared group (with encryption on): the
// owner publishes a charge point's keys, wrapped with the master key that
// every Central of the group is given (--master-key or a shared
// --master-key-file), on the compacted central.keys topic whenever it
// issues, rotates or revokes them. Every Central reads the topic from its
// beginning into its keyring: when it takes a charge point over it opens
// the records sealed before the failover and hands the monitor the same
// key, and a revocation holds there too.

// keysSubscription is the subscription of central.keys (nil without keys).
func (c *Central) keysSubscription(group string) *bridge.Subscribe {
	if c.cfg.Keys == nil {
		return nil
	}
	return &bridge.Subscribe{Topic: bridge.TopicCentralKeys, Group: group + "-keys-" + c.instance}
}

// shareKeys publishes cpID's keys for the group (a no-op unless shared).
func (c *Central) shareKeys(cpID string) {
	if c.group == nil || c.cfg.Keys == nil || c.cfg.MasterKey == nil {
		return
	}
	rec := &messages.CentralKeys{CpId: cpID, MasterId: c.cfg.MasterKey.ID, At: timestamppb.New(c.cfg.Now()), Issuer: c.group.address,
		Revoked: c.cfg.Keys.Revoked(cpID)}
	wrap := func(k *seal.Key) *messages.WrappedKey {
		return &messages.WrappedKey{KeyId: k.ID, Wrapped: c.cfg.MasterKey.Wrap(k)}
	}
	cur, hasCur := c.cfg.Keys.Current(cpID)
	if staged, ok := c.cfg.Keys.Staged(cpID); ok {
		rec.Current = wrap(staged)
		if hasCur {
			rec.Previous = wrap(cur)
		}
	} else if hasCur {
		rec.Current = wrap(cur)
	}
	c.sys.Root.Send(c.cfg.Bridge, &bridge.Publish{Topic: bridge.TopicCentralKeys, Key: cpID, Msg: rec})
	c.registryLog().keys[cpID] = true
}

// keysRecord takes another Central's keys of a charge point into the keyring.
func (c *Central) keysRecord(m *messages.CentralKeys) {
	if c.group == nil || c.cfg.Keys == nil {
		return
	}
	c.registryLog().keys[m.GetCpId()] = true
	if m.GetIssuer() == c.group.address {
		return
	}
	id := m.GetCpId()
	log := c.log.WithField("cp_id", id)
	if m.GetMasterId() != c.cfg.MasterKey.ID {
		if !c.group.masterWarned {
			c.group.masterWarned = true
			log.Warnf("The keys of %s from the Central at %s are wrapped with master key %s, this Central has %s: give every Central of the group the same --master-key; charge points it takes over get new keys",
				id, m.GetIssuer(), m.GetMasterId(), c.cfg.MasterKey.ID)
		}
		return
	}
	if m.GetRevoked() {
		c.cfg.Keys.Revoke(id)
		if cp := c.cps[id]; cp != nil {
			cp.seal.revoked = true
		}
		return
	}
	unwrap := func(w *messages.WrappedKey) *seal.Key {
		if w == nil {
			return nil
		}
		k, err := c.cfg.MasterKey.Unwrap(id, w.GetKeyId(), w.GetWrapped())
		if err != nil {
			log.WithFields(logrus.Fields{"key_id": w.GetKeyId(), "error": err}).Debug("A key of the group does not open")
			return nil
		}
		return k
	}
	if prev := unwrap(m.GetPrevious()); prev != nil {
		c.cfg.Keys.Install(prev)
	}
	if cur := unwrap(m.GetCurrent()); cur != nil {
		if k, ok := c.cfg.Keys.Current(id); !ok || k.ID != cur.ID {
			c.cfg.Keys.Stage(cur)
		}
	}
	if cp := c.cps[id]; cp != nil {
		cp.seal.revoked = false
	}
}

// revokedInGroup says whether cpID's keys were revoked (here or by another
// Central of the group): a charge point this Central takes over stays revoked.
func (c *Central) revokedInGroup(cpID string) bool {
	if c.group == nil || c.cfg.Keys == nil || !c.cfg.Keys.Revoked(cpID) {
		return false
	}
	_, rotated := c.cfg.Keys.Staged(cpID) // a new key after the revocation
	return !rotated
}
