// Package store is Central's database: the registry of charge points, the
// operator's standing orders and the tickets, in SQLite through the pure-Go
// driver modernc.org/sqlite. A path of ":memory:" keeps everything in memory
// (tests); a file survives Central's restarts.
//
// The store is owned by one Central actor at a time; its methods are safe for
// concurrent use anyway (database/sql serialises them).
package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/evcharging/evsim/messages"
)

// ErrNotFound is returned when a charge point or ticket is not in the store.
var ErrNotFound = errors.New("not found")

// ChargePoint is one registered charge point.
type ChargePoint struct {
	ID             string
	Location       string
	PriceEURPerKWh float64
	KW             float64
	// SecretHash is the salted hash of the monitor's secret (see HashSecret).
	SecretHash string
	// Stopped is the operator's standing order: out of service until resumed.
	Stopped      bool
	RegisteredAt time.Time
}

// Store is Central's database.
type Store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS charge_points (
	id            TEXT PRIMARY KEY,
	location      TEXT NOT NULL,
	price         REAL NOT NULL,
	kw            REAL NOT NULL,
	secret_hash   TEXT NOT NULL,
	stopped       INTEGER NOT NULL DEFAULT 0,
	registered_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
	session_id  TEXT PRIMARY KEY,
	ticket_id   TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	driver_id   TEXT NOT NULL,
	cp_id       TEXT NOT NULL,
	kwh         REAL NOT NULL,
	eur         REAL NOT NULL,
	price       REAL NOT NULL,
	started_at  INTEGER NOT NULL,
	ended_at    INTEGER NOT NULL,
	reason      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_driver ON tickets(driver_id);
CREATE TABLE IF NOT EXISTS settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cp_keys (
	key_id     TEXT PRIMARY KEY,
	cp_id      TEXT NOT NULL,
	state      TEXT NOT NULL,
	wrapped    BLOB NOT NULL,
	master_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cp_keys_cp ON cp_keys(cp_id);
`

// Open opens (and creates when needed) the database at path; ":memory:" is a
// private in-memory database.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path (use :memory: for no file)")
	}
	dsn := path
	if path != ":memory:" {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("open store: create folder %s: %w", dir, err)
			}
		}
		dsn = "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: an in-memory database exists per connection, and one
	// writer is all Central needs.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: create schema: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// ChargePoints returns every registered charge point, sorted by id.
func (s *Store) ChargePoints(ctx context.Context) ([]ChargePoint, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, location, price, kw, secret_hash, stopped, registered_at FROM charge_points ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load charge points: %w", err)
	}
	defer rows.Close()
	var out []ChargePoint
	for rows.Next() {
		var cp ChargePoint
		var stopped int
		var at int64
		if err := rows.Scan(&cp.ID, &cp.Location, &cp.PriceEURPerKWh, &cp.KW, &cp.SecretHash, &stopped, &at); err != nil {
			return nil, fmt.Errorf("load charge points: %w", err)
		}
		cp.Stopped = stopped != 0
		cp.RegisteredAt = time.UnixMilli(at)
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load charge points: %w", err)
	}
	return out, nil
}

// SaveChargePoint inserts or updates a charge point (its location, price, kW
// and secret hash; the stopped order is kept unless the row is new).
func (s *Store) SaveChargePoint(ctx context.Context, cp ChargePoint) error {
	return s.upsertChargePoint(ctx, cp, false)
}

// SetStopped records the operator's order for one charge point, or for all when id is "".
func (s *Store) SetStopped(ctx context.Context, id string, stopped bool) error {
	var err error
	if id == "" {
		_, err = s.db.ExecContext(ctx, `UPDATE charge_points SET stopped = ?`, boolInt(stopped))
	} else {
		_, err = s.db.ExecContext(ctx, `UPDATE charge_points SET stopped = ? WHERE id = ?`, boolInt(stopped), id)
	}
	if err != nil {
		return fmt.Errorf("record stop order for %q: %w", id, err)
	}
	return nil
}

// SaveTicket stores t unless a ticket for its session exists already. It
// reports whether t was new: Kafka delivers at least once, so the same supply
// end can arrive twice and must make one ticket.
func (s *Store) SaveTicket(ctx context.Context, t *messages.Ticket) (bool, error) {
	if t.GetSessionId() == "" {
		return false, errors.New("save ticket: empty session id")
	}
	res, err := s.db.ExecContext(ctx, `
INSERT INTO tickets (session_id, ticket_id, request_id, driver_id, cp_id, kwh, eur, price, started_at, ended_at, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING`,
		t.GetSessionId(), t.GetTicketId(), t.GetRequestId(), t.GetDriverId(), t.GetCpId(), t.GetKwh(), t.GetEur(),
		t.GetPriceEurPerKwh(), t.GetStartedAt().AsTime().UnixMilli(), t.GetEndedAt().AsTime().UnixMilli(), int32(t.GetReason()))
	if err != nil {
		return false, fmt.Errorf("save ticket for session %s: %w", t.GetSessionId(), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("save ticket for session %s: %w", t.GetSessionId(), err)
	}
	return n == 1, nil
}

// Ticket returns the ticket of a session, or ErrNotFound.
func (s *Store) Ticket(ctx context.Context, sessionID string) (*messages.Ticket, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE session_id = ?`, sessionID)
	t, err := scanTicket(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket of session %s: %w", sessionID, err)
	}
	return t, nil
}

// TicketTotals returns how many tickets there are and their energy and revenue.
func (s *Store) TicketTotals(ctx context.Context) (n int64, kwh, eur float64, err error) {
	row := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(kwh), 0), COALESCE(SUM(eur), 0) FROM tickets`)
	if err := row.Scan(&n, &kwh, &eur); err != nil {
		return 0, 0, 0, fmt.Errorf("sum tickets: %w", err)
	}
	return n, kwh, eur, nil
}

// EnsureSecret returns the random secret stored under key, creating it on
// first use. A network started again on the same database gets the same
// secret back (so its charge points' derived credentials stay valid).
func (s *Store) EnsureSecret(ctx context.Context, key string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("create secret %s: %w", key, err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING`,
		key, hex.EncodeToString(b)); err != nil {
		return "", fmt.Errorf("create secret %s: %w", key, err)
	}
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("read secret %s: %w", key, err)
	}
	return v, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// HashSecret returns a salted SHA-256 hash of secret as "salt$hash" in hex.
func HashSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash secret: %w", err)
	}
	return hex.EncodeToString(salt) + "$" + hex.EncodeToString(digest(salt, secret)), nil
}

// CheckSecret reports whether secret matches a hash from HashSecret, in
// constant time. An empty secret never matches.
func CheckSecret(hash, secret string) bool {
	if secret == "" {
		return false
	}
	saltHex, sumHex, ok := strings.Cut(hash, "$")
	if !ok {
		return false
	}
	salt, err1 := hex.DecodeString(saltHex)
	sum, err2 := hex.DecodeString(sumHex)
	if err1 != nil || err2 != nil {
		return false
	}
	return hmac.Equal(sum, digest(salt, secret))
}

func digest(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}
