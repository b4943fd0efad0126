package store

import (
	"context"
	"fmt"
	"time"
)

// PutChargePoint writes a charge point as another Central of a shared group
// holds it (read from the group's changelog): every field, the operator's
// stop included, replaces what this store had.
func (s *Store) PutChargePoint(ctx context.Context, cp ChargePoint) error {
	return s.upsertChargePoint(ctx, cp, true)
}

// upsertChargePoint inserts cp or updates its row; the stop of an existing
// row is replaced only with withStop.
func (s *Store) upsertChargePoint(ctx context.Context, cp ChargePoint, withStop bool) error {
	at := cp.RegisteredAt
	if at.IsZero() {
		at = time.Now()
	}
	stop := ""
	if withStop {
		stop = ", stopped = excluded.stopped"
	}
	_, err := s.db.ExecContext(ctx, `
INSERT INTO charge_points (id, location, price, kw, secret_hash, stopped, registered_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET location = excluded.location, price = excluded.price,
	kw = excluded.kw, secret_hash = excluded.secret_hash`+stop,
		cp.ID, cp.Location, cp.PriceEURPerKWh, cp.KW, cp.SecretHash, boolInt(cp.Stopped), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("save charge point %s: %w", cp.ID, err)
	}
	return nil
}
