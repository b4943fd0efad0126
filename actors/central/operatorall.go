package central

import (
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/messages"
)

// An operator's stop or resume of all, given at one Central of a shared
// group, acts on the whole network: this Central carries it out on its own
// charge points and passes it on to every other current member, each of
// which carries it out on its own; the answer counts them all and names
// each member with its answer, or its silence after ForwardTimeout.

// orderEverywhere passes an order for all on to the other members and
// answers once each answered or timed out; it says whether it did (never
// for one charge point, nor outside a shared group).
func (c *Central) orderEverywhere(ctx actor.Context, cpID string, stop bool) bool {
	if c.group == nil || cpID != "" {
		return false
	}
	res := c.setStopped(ctx, "", stop)
	members := c.currentMembers()
	if len(members) == 0 {
		ctx.Respond(res)
		return true
	}
	kind, word := messages.OrderKind_ORDER_KIND_RESUME, "resume"
	if stop {
		kind, word = messages.OrderKind_ORDER_KIND_STOP, "stop"
	}
	timeout := c.cfg.ForwardTimeout
	res.Members = make([]MemberOrderResult, len(members))
	waiting := len(members)
	for i, addr := range members {
		res.Members[i].Address = addr
		f := ctx.RequestFuture(actor.NewPID(addr, ActorName), &messages.CentralOrder{Kind: kind, Via: c.group.address}, timeout)
		ctx.ReenterAfter(f, func(ans any, err error) {
			// Continuations run one at a time on this actor: res and waiting need no lock.
			if a, ok := ans.(*messages.CentralOrderResult); ok && err == nil {
				res.Members[i].Affected, res.Members[i].Err = int(a.GetAffected()), a.GetError()
				res.Affected += int(a.GetAffected())
			} else {
				res.Members[i].Err = fmt.Sprintf("Central %s did not answer within %v", addr, timeout)
				c.log.WithField("owner", addr).Warnf("The operator's %s of all went to Central %s, which did not answer within %v", word, addr, timeout)
			}
			if waiting--; waiting == 0 {
				ctx.Respond(res)
			}
		})
	}
	return true
}

// currentMembers are the addresses of the other Centrals of the latest
// assignment that own partitions, sorted.
func (c *Central) currentMembers() []string {
	var out []string
	for _, m := range c.group.members {
		if !m.GetLeft() && len(m.GetPartitions()) > 0 && m.GetGeneration() >= c.group.gen {
			out = append(out, m.GetAddress())
		}
	}
	slices.Sort(out)
	return out
}

// allOfAnother carries out an order for all that another member passed on,
// on this Central's own charge points.
func (c *Central) allOfAnother(ctx actor.Context, o *messages.CentralOrder) *messages.CentralOrderResult {
	ans := &messages.CentralOrderResult{Owner: c.groupAddress()}
	stop := o.GetKind() == messages.OrderKind_ORDER_KIND_STOP
	if !stop && o.GetKind() != messages.OrderKind_ORDER_KIND_RESUME {
		ans.Error = "an order for all is stop or resume, not " + o.GetKind().String()
		return ans
	}
	res := c.setStopped(ctx, "", stop)
	word := "resume"
	if stop {
		word = "stop"
	}
	c.log.WithFields(logrus.Fields{"via": o.GetVia(), "affected": res.Affected}).
		Infof("Carried out the operator's %s of all given at Central %s on this Central's charge points", word, o.GetVia())
	ans.Affected, ans.Error = int32(res.Affected), res.Err
	return ans
}
