package central

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/words"
	"github.com/evcharging/evsim/messages"
)

// Several Centrals, one network (Config.Shared).
//
// The Centrals of one group read the charge-point-keyed topics (cp.status,
// cp.telemetry, cp.session_end) as ONE Kafka consumer group: each owns the
// charge points whose id the producers' partitioner puts in its partitions,
// and Kafka moves a member's partitions to the others when it leaves or
// dies. On every rebalance a Central drops the charge points it lost, takes
// those of its store it gained, says so in one INFO line, and publishes
// where it is and what it owns on the compacted central.members topic.
//
// A monitor may contact any Central of the group (evnode --central a,b,c):
// a Central that does not own the charge point passes the registration,
// liveness or fault report on over actor remote to the owner (a
// CentralForward, the monitor staying the sender), and the owner answers
// the monitor itself. Forwarding, not a redirect, because a monitor then
// needs no new protocol and keeps one Central it talks to; it changes
// Central only when that one stops answering. A Central that knows no owner
// (the group is rebalancing) answers "waiting", which a monitor takes
// quietly.
//
// Driver requests are keyed by driver, not by charge point: every Central
// reads all of them (a consumer group of its own, named after its address)
// and serves those for the charge points it owns. Tickets are read the same
// way into each Central's store, so that a supply end delivered again to a
// new owner finds its ticket and is not ticketed twice.

// cpTopics are the charge-point-keyed topics the group shares.
var cpTopics = []string{bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd}

// sharedConsumption names the group's one consumption of cpTopics in the bridge:
// the Kafka group is bridge.KafkaGroupID(Group, "cp").
const sharedConsumption = "cp"

// groupState is this Central's share of the network.
type groupState struct {
	address string
	// gen is the Kafka group's generation of the latest assignment.
	gen      int32
	assigned bool
	parts    []int32
	owned    map[int32]bool
	// gainedAt is when this Central got each partition it owns.
	gainedAt map[int32]time.Time
	// total is cp.status's partition count, as the bridge found it (0: not yet).
	total int32
	// members are the other Centrals' latest records, by address.
	members map[string]*messages.CentralMember
	// masterWarned, countsWarned: the WARN about another master key, or
	// about topics of different partition counts, was written.
	masterWarned, countsWarned bool
	// registry is the group's registry as read from Kafka (group_registry.go).
	registry *registryChangelog
}

func (c *Central) startGroup(ctx actor.Context) {
	if !c.cfg.Shared {
		return
	}
	addr := c.cfg.Address
	if addr == "" {
		addr = ctx.Self().GetAddress()
	}
	c.group = &groupState{address: addr, owned: map[int32]bool{}, gainedAt: map[int32]time.Time{}, members: map[string]*messages.CentralMember{}}
}

// groupAddress is this Central's address for its monitors, "" unless shared.
func (c *Central) groupAddress() string {
	if c.group == nil {
		return ""
	}
	return c.group.address
}

// subscriptions are Central's Subscribes to the bridge.
func (c *Central) subscriptions(ctx actor.Context) []*bridge.Subscribe {
	self := ctx.Self()
	if c.group == nil {
		var out []*bridge.Subscribe
		for _, t := range c.topics() {
			out = append(out, &bridge.Subscribe{Topic: t, Group: c.cfg.Group, Subscriber: self})
		}
		return out
	}
	g, addr := c.cfg.Group, c.group.address
	out := []*bridge.Subscribe{
		{Topic: sharedConsumption, Group: g, Topics: cpTopics, Subscriber: self},
		{Topic: bridge.TopicDriverRequests, Group: g + "-requests-" + addr, Subscriber: self},
		{Topic: bridge.TopicTickets, Group: g + "-tickets-" + addr, Subscriber: self},
		// The members topic is compacted: each life reads it from its beginning.
		{Topic: bridge.TopicCentralMembers, Group: g + "-members-" + c.instance, Subscriber: self},
	}
	out = append(out, c.changelogSubscriptions(g, self)...)
	if k := c.keysSubscription(g); k != nil {
		k.Subscriber = self
		out = append(out, k)
	}
	return out
}

func (c *Central) partitionOf(cpID string) int32 {
	n := int32(c.cfg.Partitions)
	if c.group != nil && c.group.total > 0 {
		n = c.group.total
	}
	return bridge.PartitionOf(cpID, n)
}

// owns says whether this Central serves cpID (always, unless shared).
func (c *Central) owns(cpID string) bool {
	return c.group == nil || c.group.owned[c.partitionOf(cpID)]
}

// ownerOf is the address of the Central that owns cpID, "" when this one
// does or none is known: of the members that claim its partition, the one
// of the latest generation.
func (c *Central) ownerOf(cpID string) string {
	p := c.partitionOf(cpID)
	var best *messages.CentralMember
	for _, m := range c.group.members {
		if m.GetLeft() || !slices.Contains(m.GetPartitions(), p) {
			continue
		}
		if best == nil || m.GetGeneration() > best.GetGeneration() {
			best = m
		}
	}
	if best == nil || best.GetGeneration() < c.group.gen {
		return "" // a claim older than what this Central knows: stale
	}
	return best.GetAddress()
}

// passOn hands a monitor's message for a charge point this Central does not
// own to its owner; it says whether it did (or answered "waiting").
func (c *Central) passOn(ctx actor.Context, cpID string, msg proto.Message) bool {
	if c.group == nil || c.owns(cpID) {
		return false
	}
	owner := c.ownerOf(cpID)
	if owner == "" || owner == c.group.address {
		c.answerWaiting(ctx, msg, "no Central of the group owns "+cpID+" right now (the group is rebalancing)")
		return true
	}
	fwd := &messages.CentralForward{Via: c.group.address}
	switch m := msg.(type) {
	case *messages.RegisterChargePoint:
		fwd.Msg = &messages.CentralForward_Register{Register: m}
	case *messages.Liveness:
		fwd.Msg = &messages.CentralForward_Liveness{Liveness: m}
	case *messages.FaultReport:
		fwd.Msg = &messages.CentralForward_Fault{Fault: m}
	default:
		return false
	}
	if ctx.Sender() == nil {
		return true
	}
	ctx.RequestWithCustomSender(actor.NewPID(owner, ActorName), fwd, ctx.Sender())
	c.log.WithFields(logrus.Fields{"cp_id": cpID, "owner": owner}).Tracef("Passed %T of %s on to its owner", msg, cpID)
	return true
}

// forwarded handles what another Central passed on; it is never passed on again.
func (c *Central) forwarded(ctx actor.Context, f *messages.CentralForward) {
	var cpID string
	var inner proto.Message
	switch {
	case f.GetRegister() != nil:
		cpID, inner = f.GetRegister().GetCpId(), f.GetRegister()
	case f.GetLiveness() != nil:
		cpID, inner = f.GetLiveness().GetCpId(), f.GetLiveness()
	case f.GetFault() != nil:
		cpID, inner = f.GetFault().GetCpId(), f.GetFault()
	default:
		return
	}
	if !c.owns(cpID) {
		c.answerWaiting(ctx, inner, cpID+" is not this Central's any more (the group is rebalancing)")
		return
	}
	switch m := inner.(type) {
	case *messages.RegisterChargePoint:
		c.register(ctx, m)
	case *messages.Liveness:
		c.liveness(ctx, m)
	case *messages.FaultReport:
		if cp := c.cps[m.GetCpId()]; cp != nil && cp.alive && cp.isMonitor(ctx.Sender()) && c.sameRegistration(cp, m.GetRegistrationId()) {
			c.engineHealth(ctx, cp, !m.GetFaulty(), m.GetDetail())
		}
	}
}

func (c *Central) answerWaiting(ctx actor.Context, msg any, reason string) {
	if ctx.Sender() == nil {
		return
	}
	if a := WaitingAnswer(msg, reason); a != nil {
		ctx.Respond(a)
	}
}

// assigned takes this Central's new share after a rebalance.
func (c *Central) assigned(ctx actor.Context, m *bridge.Assigned) {
	g := c.group
	if g == nil || m.Group != c.cfg.Group || m.Topic != sharedConsumption {
		return
	}
	parts := m.Partitions[bridge.TopicStatus]
	owned := make(map[int32]bool, len(parts))
	for _, p := range parts {
		owned[p] = true
	}
	now := c.cfg.Now()
	gainedAt := make(map[int32]time.Time, len(parts))
	for _, p := range parts {
		if at, kept := g.gainedAt[p]; kept && g.owned[p] {
			gainedAt[p] = at
		} else {
			gainedAt[p] = now
		}
	}
	g.gen, g.assigned, g.parts, g.owned, g.gainedAt = m.Generation, true, parts, owned, gainedAt
	if n := m.PartitionCounts[bridge.TopicStatus]; n > 0 {
		if int(n) != c.cfg.Partitions && g.total != n {
			c.log.Infof("%s has %d partitions (not --partitions %d): charge points are shared by those", bridge.TopicStatus, n, c.cfg.Partitions)
		}
		g.total = n
	}
	for _, t := range cpTopics {
		if n := m.PartitionCounts[t]; n > 0 && n != g.total && !g.countsWarned {
			g.countsWarned = true
			c.log.Warnf("%s has %d partitions, %s %d: a charge point's records of the two may reach different Centrals; give the cp.* topics one partition count",
				t, n, bridge.TopicStatus, g.total)
		}
	}
	lost := 0
	for _, id := range slices.Clone(c.sortedIDs()) {
		if !owned[c.partitionOf(id)] {
			c.dropChargePoint(id)
			lost++
		}
	}
	gained := c.loadOwned()
	c.log.WithFields(logrus.Fields{"generation": m.Generation, "member_id": m.MemberID}).
		Infof("Central %s owns partitions %v of %s: %s (%d dropped, %d loaded from the store)",
			g.address, parts, bridge.TopicStatus, words.Count(len(c.cps), "charge point", "charge points"), lost, gained)
	c.rebalanced(parts, lost, gained)
	c.publishMember(ctx, false)
}

// dropChargePoint forgets a charge point whose partition went to another
// Central: no DISCONNECTED, no order to its engine; its new owner takes it
// from its monitor's next message.
func (c *Central) dropChargePoint(id string) {
	cp := c.cps[id]
	if cp == nil {
		return
	}
	if p := cp.pending; p != nil {
		p.cancel()
		if c.drivers[p.driverID] == p.sessionID {
			delete(c.drivers, p.driverID)
		}
	}
	if s := cp.session; s != nil && c.drivers[s.DriverID] == s.SessionID {
		delete(c.drivers, s.DriverID)
	}
	delete(c.cps, id)
}

// loadOwned takes the charge points of the store that this Central owns now
// and does not hold yet (each DISCONNECTED until its monitor comes).
func (c *Central) loadOwned() int {
	regs, err := c.cfg.Store.ChargePoints(context.Background())
	if err != nil {
		c.log.WithError(err).Warn("Could not load the registry for the partitions gained")
		return 0
	}
	now, n := c.cfg.Now(), 0
	for _, r := range regs {
		if c.cps[r.ID] != nil || !c.owns(r.ID) {
			continue
		}
		cp := &cpEntry{reg: r, stopped: r.Stopped, engineOK: true, since: now}
		cp.state, cp.reason = cp.derive()
		c.cps[r.ID] = cp
		n++
	}
	return n
}

// publishMember tells the group where this Central is and what it owns.
func (c *Central) publishMember(ctx actor.Context, left bool) {
	g := c.group
	rec := &messages.CentralMember{
		Group: c.cfg.Group, Address: g.address, Instance: c.instance, Generation: g.gen,
		Partitions: g.parts, Http: c.cfg.HTTP, Left: left, At: timestamppb.New(c.cfg.Now()),
	}
	if left {
		rec.Partitions = nil
	}
	c.publish(ctx, bridge.TopicCentralMembers, c.cfg.Group+"/"+g.address, rec)
}

// leaveGroup says, on a clean stop, that this Central owns nothing any more.
func (c *Central) leaveGroup(ctx actor.Context) {
	if c.group != nil && c.group.assigned {
		c.publishMember(ctx, true)
	}
}

// memberRecord notes another Central's record.
func (c *Central) memberRecord(m *messages.CentralMember) {
	if c.group == nil || m.GetGroup() != c.cfg.Group || m.GetAddress() == c.group.address {
		return
	}
	if old := c.group.members[m.GetAddress()]; old != nil && old.GetAt().AsTime().After(m.GetAt().AsTime()) {
		return
	}
	c.group.members[m.GetAddress()] = m
}

// ticketRecord stores a ticket read from driver.tickets (any Central's), so
// that a supply end delivered again after a rebalance is not ticketed twice;
// and it ends the supply where this Central still shows it running: its end
// went to the Central that had the partition when the end came (e.g. one
// that had every partition for a moment while the others joined the group
// again after a Kafka node's crash), and it is not delivered again here.
func (c *Central) ticketRecord(ctx actor.Context, t *messages.Ticket) {
	sid := t.GetSessionId()
	if c.group == nil || sid == "" {
		return
	}
	if _, err := c.cfg.Store.SaveTicket(context.Background(), t); err != nil {
		c.log.WithError(err).WithField("session_id", sid).Debug("Could not store a ticket of the group")
		return
	}
	c.ended.add(sid)
	cp := c.cps[t.GetCpId()]
	if cp == nil || cp.session == nil || cp.session.SessionID != sid {
		return
	}
	cp.session, cp.request, cp.released = nil, "", false
	if c.drivers[t.GetDriverId()] == sid {
		delete(c.drivers, t.GetDriverId())
	}
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": t.GetDriverId(), "session_id": sid}).
		Infof("Supply of %s at %s ended: another Central of the group got its end and ticketed it", t.GetDriverId(), cp.reg.ID)
	c.update(ctx, cp)
}

// requestOfAnother says whether a driver's request is for another Central
// of the group, or was made before this Central got its charge point's
// partition: the Central that owned it then may have answered it already
// (this one cannot know), so it is left alone rather than answered twice;
// unanswered, its driver gives up after its reply timeout. (Requested-at
// is the driver's clock: Centrals and drivers need clocks in step.)
func (c *Central) requestOfAnother(r *messages.ChargeRequest) bool {
	if c.group == nil {
		return false
	}
	p := c.partitionOf(r.GetCpId())
	if !c.group.owned[p] {
		return true
	}
	at := r.GetRequestedAt()
	return at != nil && at.AsTime().Before(c.group.gainedAt[p])
}

// unheardJustGained says whether a request for cpID, whose monitor this
// Central has not heard from (unknown, or loaded from its store), is better
// left alone: its partition came to this Central less than a liveness
// timeout ago, so the monitor may not have reached it yet, and the Central
// that had the partition until this rebalance may have answered the
// request already (seen: one accepted it, this one then denied it as not
// registered). Unanswered, its driver moves on after its reply timeout.
func (c *Central) unheardJustGained(cpID string) bool {
	if c.group == nil {
		return false
	}
	at, ok := c.group.gainedAt[c.partitionOf(cpID)]
	return ok && c.cfg.Now().Sub(at) < c.cfg.LivenessTimeout
}

// clusterMembers lists the group's Centrals for /api/cluster.
func (c *Central) clusterMembers(selfAddr string) []ClusterMember {
	if c.group == nil {
		all := make([]int32, c.cfg.Partitions)
		for i := range all {
			all[i] = int32(i)
		}
		return []ClusterMember{{Address: selfAddr, Instance: c.instance, HTTP: c.cfg.HTTP, Partitions: all, Self: true}}
	}
	g := c.group
	out := []ClusterMember{{Address: g.address, Instance: c.instance, HTTP: c.cfg.HTTP, Generation: g.gen,
		Partitions: slices.Clone(g.parts), Self: true, UpdatedAt: c.cfg.Now()}}
	for _, m := range g.members {
		out = append(out, ClusterMember{Address: m.GetAddress(), Instance: m.GetInstance(), HTTP: m.GetHttp(),
			Generation: m.GetGeneration(), Partitions: m.GetPartitions(), Left: m.GetLeft(), UpdatedAt: m.GetAt().AsTime()})
	}
	slices.SortFunc(out, func(a, b ClusterMember) int { return strings.Compare(a.Address, b.Address) })
	return out
}
