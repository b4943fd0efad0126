package central

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// The registry of a shared group, carried through Kafka: the owner of a
// charge point publishes its entry (location, price, kW, its monitor's
// secret hash, the operator's stop) on the compacted central.chargepoints
// topic whenever it differs from the latest record of it, and every Central
// of the group reads the topic from its beginning into its own store (the
// store is a cache of the topic). A Central that gains a partition loads
// its charge points from the store, so it knows the secret their monitors
// must present (no trust on first use again after a takeover) and whether
// the operator stopped them. Of two records of a charge point the later one
// (by its At) stands, so a Central back with an old database takes the
// group's newer word.

// registryChangelog is what this Central read or wrote of the topic.
type registryChangelog struct {
	latest map[string]*messages.CentralChargePoint // by cp id
	// keys are the charge points whose keys this life read on central.keys
	// or published there (group_keys_stored.go).
	keys map[string]bool
	// drivers are the busy drivers of the group (group_drivers.go).
	drivers *driverShare
	// marks are this life's marks on the topic (group_catchup.go).
	marks *changelogMarks
}

func (c *Central) registryLog() *registryChangelog {
	if c.group.registry == nil {
		c.group.registry = &registryChangelog{latest: map[string]*messages.CentralChargePoint{}, keys: map[string]bool{}}
	}
	return c.group.registry
}

// changelogSubscriptions are the group's compacted topics that each life
// of a Central reads from their beginning.
func (c *Central) changelogSubscriptions(group string, self *actor.PID) []*bridge.Subscribe {
	return []*bridge.Subscribe{
		{Topic: bridge.TopicCentralChargePoints, Group: group + "-chargepoints-" + c.instance, Subscriber: self},
		{Topic: bridge.TopicCentralDrivers, Group: group + "-drivers-" + c.instance, Subscriber: self},
	}
}

func chargePointRecord(cp *cpEntry) *messages.CentralChargePoint {
	return &messages.CentralChargePoint{CpId: cp.reg.ID, Location: cp.reg.Location, PriceEurPerKwh: cp.reg.PriceEURPerKWh,
		Kw: cp.reg.KW, SecretHash: cp.reg.SecretHash, Stopped: cp.stopped, RegisteredAt: timestamppb.New(cp.reg.RegisteredAt)}
}

func sameEntry(a, b *messages.CentralChargePoint) bool {
	return a.GetLocation() == b.GetLocation() && a.GetPriceEurPerKwh() == b.GetPriceEurPerKwh() && a.GetKw() == b.GetKw() &&
		a.GetSecretHash() == b.GetSecretHash() && a.GetStopped() == b.GetStopped()
}

// shareChargePoint publishes cp's entry for the group when it differs from
// the latest record of it (a no-op unless shared): after a registration
// (also of a charge point stored before this Central joined the group) and
// after an operator's stop or resume.
func (c *Central) shareChargePoint(ctx actor.Context, cp *cpEntry) {
	if c.group == nil {
		return
	}
	rec := chargePointRecord(cp)
	log := c.registryLog()
	if old := log.latest[cp.reg.ID]; old != nil && sameEntry(old, rec) {
		return
	}
	rec.At, rec.Issuer, rec.Group = timestamppb.New(c.cfg.Now()), c.group.address, c.cfg.Group
	log.latest[cp.reg.ID] = rec
	c.publish(ctx, bridge.TopicCentralChargePoints, cp.reg.ID, rec)
}

// chargePointEntry takes a record of the group's registry into the store
// and, for a charge point this Central owns, into what it shows: a stop or
// resume given at the Central that owned it before holds here too.
func (c *Central) chargePointEntry(ctx actor.Context, m *messages.CentralChargePoint) {
	if c.group == nil || m.GetGroup() != c.cfg.Group {
		return
	}
	if m.GetMark() != "" {
		c.markRead(m)
		return
	}
	if m.GetCpId() == "" {
		return
	}
	id, log := m.GetCpId(), c.registryLog()
	if old := log.latest[id]; old != nil && old.GetAt().AsTime().After(m.GetAt().AsTime()) {
		return // an older record (e.g. this Central's own, read back)
	}
	log.latest[id] = m
	reg := store.ChargePoint{ID: id, Location: m.GetLocation(), PriceEURPerKWh: m.GetPriceEurPerKwh(), KW: m.GetKw(),
		SecretHash: m.GetSecretHash(), Stopped: m.GetStopped(), RegisteredAt: m.GetRegisteredAt().AsTime()}
	if err := c.cfg.Store.PutChargePoint(context.Background(), reg); err != nil {
		c.log.WithError(err).WithField("cp_id", id).Warnf("Could not store the group's entry of %s", id)
	}
	cp := c.cps[id]
	if cp == nil && c.group.assigned && c.owns(id) { // gained before the record was read: load it now
		cp = &cpEntry{reg: reg, stopped: reg.Stopped, engineOK: true, since: c.cfg.Now()}
		cp.state, cp.reason = cp.derive()
		c.cps[id] = cp
		c.update(ctx, cp)
		return
	}
	if cp == nil {
		return
	}
	cp.reg.Location, cp.reg.PriceEURPerKWh, cp.reg.KW = reg.Location, reg.PriceEURPerKWh, reg.KW
	if reg.SecretHash != "" {
		cp.reg.SecretHash = reg.SecretHash
	}
	if cp.stopped != reg.Stopped {
		cp.stopped = reg.Stopped
		c.update(ctx, cp)
	}
}

// storeStopped records the operator's order in the store: for one charge
// point, or for all of them when alone; in a shared group an order for all
// is this Central's charge points' (cps) only: the other rows are the
// group's, a cache of the topic, which an order given here must not change.
func (c *Central) storeStopped(cpID string, cps []*cpEntry, stopped bool) error {
	if c.group == nil || cpID != "" {
		return c.cfg.Store.SetStopped(context.Background(), cpID, stopped)
	}
	for _, cp := range cps {
		if err := c.cfg.Store.SetStopped(context.Background(), cp.reg.ID, stopped); err != nil {
			return err
		}
	}
	return nil
}
