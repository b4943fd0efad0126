package central

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/messages"
)

// An operator may give an order at any Central of a shared group: an order
// for one charge point that another member owns is passed on over actor
// remote to that owner (found as a monitor's messages find it, ownerOf),
// and its answer, or its silence after ForwardTimeout, is the answer. The
// owner carries the order out as if given at its own panel and never passes
// it on again.

func knockOutKind(ko bool) messages.OrderKind {
	if ko {
		return messages.OrderKind_ORDER_KIND_KNOCK_OUT
	}
	return messages.OrderKind_ORDER_KIND_REPAIR
}

// orderElsewhere passes an order for a charge point another member owns on
// to it and answers the operator when the owner did; it says whether it did.
// An order for all, for a charge point this Central holds, or with no owner
// known is this Central's to answer ("unknown charge point" for the last).
func (c *Central) orderElsewhere(ctx actor.Context, cpID string, kind messages.OrderKind) bool {
	if c.group == nil || cpID == "" || c.cps[cpID] != nil || c.owns(cpID) {
		return false
	}
	owner := c.ownerOf(cpID)
	if owner == "" || owner == c.group.address {
		return false
	}
	order := &messages.CentralOrder{CpId: cpID, Kind: kind, Via: c.group.address}
	timeout := c.cfg.ForwardTimeout
	log := c.log.WithFields(logrus.Fields{"cp_id": cpID, "owner": owner})
	f := ctx.RequestFuture(actor.NewPID(owner, ActorName), order, timeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		a, ok := res.(*messages.CentralOrderResult)
		switch {
		case err != nil || !ok:
			log.Warnf("The operator's order for %s went to Central %s, its owner, which did not answer within %v", cpID, owner, timeout)
			ctx.Respond(&OperatorResult{Owner: owner, OwnerSilent: true,
				Err: fmt.Sprintf("%s belongs to Central %s, which did not answer within %v", cpID, owner, timeout)})
		case a.GetUnknown():
			ctx.Respond(&OperatorResult{Err: "unknown charge point " + cpID})
		default:
			log.Infof("The operator's order for %s was carried out by Central %s, its owner", cpID, owner)
			ctx.Respond(&OperatorResult{Affected: int(a.GetAffected()), Err: a.GetError(), Owner: owner})
		}
	})
	return true
}

// orderOfAnother carries out an order another member passed on.
func (c *Central) orderOfAnother(ctx actor.Context, o *messages.CentralOrder) *messages.CentralOrderResult {
	ans := &messages.CentralOrderResult{Owner: c.groupAddress()}
	cpID := o.GetCpId()
	if cpID == "" {
		return c.allOfAnother(ctx, o)
	}
	if !c.owns(cpID) {
		ans.Error = fmt.Sprintf("%s is not Central %s's any more (the group is rebalancing); try again", cpID, c.groupAddress())
		return ans
	}
	if c.cps[cpID] == nil {
		ans.Unknown = true
		return ans
	}
	var res *OperatorResult
	switch o.GetKind() {
	case messages.OrderKind_ORDER_KIND_STOP:
		res = c.setStopped(ctx, cpID, true)
	case messages.OrderKind_ORDER_KIND_RESUME:
		res = c.setStopped(ctx, cpID, false)
	case messages.OrderKind_ORDER_KIND_KNOCK_OUT, messages.OrderKind_ORDER_KIND_REPAIR:
		res = c.knockOut(ctx, &KnockOut{CPID: cpID, KO: o.GetKind() == messages.OrderKind_ORDER_KIND_KNOCK_OUT})
	default:
		ans.Error = "unknown order " + o.GetKind().String()
		return ans
	}
	c.log.WithFields(logrus.Fields{"cp_id": cpID, "via": o.GetVia()}).Infof("Carried out the operator's order for %s given at Central %s", cpID, o.GetVia())
	ans.Affected, ans.Error = int32(res.Affected), res.Err
	return ans
}
