package central

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// Busy drivers in a shared group: a driver is served by one Central at a
// time, but asks any charge point, so each Central must know who the
// others serve. A Central publishes on the compacted central.drivers topic,
// keyed by driver, when it starts serving a driver (at once) and when it
// stops (at its next check tick, from the difference between whom it
// serves and what it published; not for a supply whose charge point went
// to another Central in a rebalance); every Central reads the topic from its
// beginning. A request of a driver whose latest record names a supply at a
// charge point of another Central is denied as busy, unless that supply
// has its ticket. The owner of a charge point is the authority on its
// supplies: a record naming one of its charge points and a supply it does
// not hold (e.g. of a killed Central, for a start that never began) is
// answered with a record that the driver is free.

// driverShare is what this life of Central published and read of the topic.
type driverShare struct {
	published map[string]*messages.CentralDriver // driver -> the supply this Central published it is served
	latest    map[string]*messages.CentralDriver // driver -> latest record read or published
}

func (c *Central) driverLog() *driverShare {
	log := c.registryLog()
	if log.drivers == nil {
		log.drivers = &driverShare{published: map[string]*messages.CentralDriver{}, latest: map[string]*messages.CentralDriver{}}
	}
	return log.drivers
}

func (c *Central) publishDriver(ctx actor.Context, driver, sessionID, cpID string) {
	rec := &messages.CentralDriver{DriverId: driver, SessionId: sessionID, CpId: cpID,
		At: timestamppb.New(c.cfg.Now()), Issuer: c.group.address, Group: c.cfg.Group}
	log := c.driverLog()
	log.latest[driver] = rec
	if sessionID == "" {
		delete(log.published, driver)
	} else {
		log.published[driver] = rec
	}
	c.publish(ctx, bridge.TopicCentralDrivers, driver, rec)
}

// shareDriver says at once that this Central serves driver (a no-op unless shared).
func (c *Central) shareDriver(ctx actor.Context, driver, sessionID, cpID string) {
	if c.group != nil {
		c.publishDriver(ctx, driver, sessionID, cpID)
	}
}

// driverRecord notes a record of central.drivers.
func (c *Central) driverRecord(m *messages.CentralDriver) {
	if c.group == nil || m.GetDriverId() == "" || m.GetGroup() != c.cfg.Group {
		return
	}
	log := c.driverLog()
	if old := log.latest[m.GetDriverId()]; old != nil && old.GetAt().AsTime().After(m.GetAt().AsTime()) {
		return
	}
	log.latest[m.GetDriverId()] = m
}

// busyAtAnother says why driver may not be served here ("" when it may):
// another Central of the group serves it at one of its charge points.
func (c *Central) busyAtAnother(driver string) string {
	if c.group == nil {
		return ""
	}
	r := c.driverLog().latest[driver]
	if r == nil || r.GetSessionId() == "" || c.owns(r.GetCpId()) || c.ended.has(r.GetSessionId()) {
		return ""
	}
	return fmt.Sprintf("%s already has a supply running at %s (session %s, at another Central of the group)", driver, r.GetCpId(), r.GetSessionId())
}

// syncDrivers publishes, at each check tick, whom this Central serves and
// no longer serves, and frees the drivers of stale records that name its
// charge points.
func (c *Central) syncDrivers(ctx actor.Context) {
	if c.group == nil {
		return
	}
	log := c.driverLog()
	var cpOf map[string]string // session -> charge point, built when needed
	for driver, sid := range c.drivers {
		if log.published[driver].GetSessionId() == sid {
			continue
		}
		if cpOf == nil {
			cpOf = c.sessionChargePoints()
		}
		c.publishDriver(ctx, driver, sid, cpOf[sid])
	}
	for driver, p := range log.published {
		switch _, serving := c.drivers[driver]; {
		case serving:
		case !c.owns(p.GetCpId()):
			// Its charge point went to another Central, which takes the
			// supply over (or frees the driver): not this one's to say.
			delete(log.published, driver)
		default:
			c.publishDriver(ctx, driver, "", "")
		}
	}
	now := c.cfg.Now()
	for driver, r := range log.latest {
		sid, cp := r.GetSessionId(), r.GetCpId()
		if sid == "" || !c.owns(cp) || c.drivers[driver] == sid {
			continue
		}
		// Its engine's liveness names a supply it runs within a liveness
		// timeout of the partition's move: wait that long before saying no.
		if at, ok := c.group.gainedAt[c.partitionOf(cp)]; ok && now.Sub(at) < c.cfg.LivenessTimeout {
			continue
		}
		c.publishDriver(ctx, driver, "", "")
	}
}

// sessionChargePoints maps the sessions this Central holds to their charge points.
func (c *Central) sessionChargePoints() map[string]string {
	out := map[string]string{}
	for id, cp := range c.cps {
		if cp.session != nil {
			out[cp.session.SessionID] = id
		}
		if cp.pending != nil {
			out[cp.pending.sessionID] = id
		}
	}
	return out
}
