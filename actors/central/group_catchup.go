package central

import (
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// A starting Central of a shared group may gain partitions before it has
// read central.chargepoints: in the open mode it would then pin the first
// secret a monitor presents for a charge point that another Central
// registered (trust on first use, open to a forger). So at its start it
// publishes a mark of its life in each partition of the topic, and until it
// has read them all back (everything published before its start is read
// then), or RegistryGrace has passed (a topic of another partition count
// may hold no mark in some partition), it answers "waiting" to the
// registration of a charge point that neither its store nor the topic knows.

// changelogMarks is this life's marks on central.chargepoints.
type changelogMarks struct {
	want int
	read map[string]bool
	done bool
}

// markChangelog publishes this life's marks, one a partition (a no-op unless shared).
func (c *Central) markChangelog(ctx actor.Context) {
	if c.group == nil {
		return
	}
	n := int32(c.cfg.Partitions)
	log := c.registryLog()
	log.marks = &changelogMarks{want: int(n), read: map[string]bool{}}
	for p := int32(0); p < n; p++ {
		key := markKey(c.group.address, p, n)
		c.publish(ctx, bridge.TopicCentralChargePoints, key, &messages.CentralChargePoint{Group: c.cfg.Group,
			Issuer: c.group.address, At: timestamppb.New(c.cfg.Now()), Mark: fmt.Sprintf("%s/%d", c.instance, p)})
	}
}

// markKey is a record key of this Central's that falls in partition p of n.
func markKey(address string, p, n int32) string {
	for i := 0; i < 100000; i++ {
		if key := fmt.Sprintf("~mark/%s/%d", address, i); bridge.PartitionOf(key, n) == p {
			return key
		}
	}
	return fmt.Sprintf("~mark/%s/p%d", address, p)
}

// markRead notes a mark read back from the topic.
func (c *Central) markRead(m *messages.CentralChargePoint) {
	marks := c.registryLog().marks
	if marks == nil || marks.done || m.GetIssuer() != c.group.address || !strings.HasPrefix(m.GetMark(), c.instance+"/") {
		return
	}
	marks.read[m.GetMark()] = true
	if len(marks.read) >= marks.want {
		marks.done = true
		c.log.Debugf("Read the group's registry (%s) up to this Central's start", bridge.TopicCentralChargePoints)
	}
}

// readingRegistry answers "waiting" to the registration of a charge point
// unknown to this Central (cp nil, no record of the group), in the open
// mode, while it has not read the group's registry up to its start; it
// says whether it did.
func (c *Central) readingRegistry(ctx actor.Context, m *messages.RegisterChargePoint, cp *cpEntry, tokens bool) bool {
	if c.group == nil || tokens || cp != nil || c.registryLog().latest[m.GetCpId()] != nil {
		return false
	}
	if marks := c.registryLog().marks; marks == nil || marks.done || c.cfg.Now().Sub(c.startedAt) >= c.cfg.RegistryGrace {
		return false
	}
	c.answerWaiting(ctx, m, "this Central is still reading the group's registry")
	return true
}
