package chargepoint

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// Central's orders (STOP, RESUME, SET_KO) set the charge point's state:
// the one Central sent last wins. Each carries the time Central sent it,
// inside the sealed payload. An engine keeps the send time of the last
// order it carried out (journaled) and ignores one sent before it: a copy
// of an old order written onto central.commands again (a replay opens
// like the original), or an order overtaken on its way.

// isOrder says whether cmd is one of Central's orders.
func isOrder(cmd *messages.Command) bool {
	switch cmd.GetKind().(type) {
	case *messages.Command_Stop, *messages.Command_Resume, *messages.Command_SetKnockedOut:
		return true
	}
	return false
}

// TakeOrder says whether an order Central sent at sentAt is to be carried
// out: not when it was sent before the last one taken. An order without a
// send time is taken and leaves the last one as it was.
func (m *Machine) TakeOrder(sentAt *timestamppb.Timestamp) bool {
	if sentAt == nil {
		return true
	}
	at := sentAt.AsTime()
	if at.Before(m.rec.OrderAt) {
		return false
	}
	m.rec.OrderAt = at
	return true
}

// LastOrderAt is when Central sent the last order taken (zero: none).
func (m *Machine) LastOrderAt() time.Time { return m.rec.OrderAt }
