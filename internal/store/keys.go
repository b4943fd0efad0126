package store

import (
	"context"
	"fmt"
	"time"
)

// Key states in the cp_keys table.
const (
	KeyCurrent  = "current"  // seals the charge point's records
	KeyPrevious = "previous" // replaced by a rotation; still opens
	KeyRevoked  = "revoked"  // opens nothing; kept so that its records are named revoked
)

// KeyRow is one charge point key as stored: its secret only wrapped with
// the master key named by MasterID (never in clear).
type KeyRow struct {
	KeyID     string
	CPID      string
	State     string
	Wrapped   []byte
	MasterID  string
	CreatedAt time.Time
}

// Keys returns every stored key, oldest first.
func (s *Store) Keys(ctx context.Context) ([]KeyRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key_id, cp_id, state, wrapped, master_id, created_at FROM cp_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	defer rows.Close()
	var out []KeyRow
	for rows.Next() {
		var k KeyRow
		var at int64
		if err := rows.Scan(&k.KeyID, &k.CPID, &k.State, &k.Wrapped, &k.MasterID, &at); err != nil {
			return nil, fmt.Errorf("load keys: %w", err)
		}
		k.CreatedAt = time.Unix(0, at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddFirstKey stores the first key of a charge point that has none
// current: one statement, where SaveKey's rotation takes a transaction (a
// network's start-up issues a key per charge point).
func (s *Store) AddFirstKey(ctx context.Context, k KeyRow) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cp_keys (key_id, cp_id, state, wrapped, master_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.KeyID, k.CPID, KeyCurrent, k.Wrapped, k.MasterID, k.CreatedAt.UnixNano()); err != nil {
		return fmt.Errorf("save the first key of %s: %w", k.CPID, err)
	}
	return nil
}

// SaveKey makes k its charge point's current key, in one transaction: the
// current key before it becomes previous, the previous one is dropped.
func (s *Store) SaveKey(ctx context.Context, k KeyRow) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save key of %s: %w", k.CPID, err)
	}
	defer func() { _ = tx.Rollback() }()
	steps := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM cp_keys WHERE cp_id = ? AND state = ?`, []any{k.CPID, KeyPrevious}},
		{`UPDATE cp_keys SET state = ? WHERE cp_id = ? AND state = ?`, []any{KeyPrevious, k.CPID, KeyCurrent}},
		{`INSERT INTO cp_keys (key_id, cp_id, state, wrapped, master_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			[]any{k.KeyID, k.CPID, KeyCurrent, k.Wrapped, k.MasterID, k.CreatedAt.UnixNano()}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("save key of %s: %w", k.CPID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save key of %s: %w", k.CPID, err)
	}
	return nil
}

// RevokeKeys marks every key of cpID revoked.
func (s *Store) RevokeKeys(ctx context.Context, cpID string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE cp_keys SET state = ? WHERE cp_id = ?`, KeyRevoked, cpID); err != nil {
		return fmt.Errorf("revoke keys of %s: %w", cpID, err)
	}
	return nil
}
