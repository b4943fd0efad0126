package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Outcomes of an audited action.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeFailed = "failed"
)

// genesis is the Prev of the first record.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is what a caller records; Append adds the sequence, time and chain.
type Event struct {
	Who       string `json:"who"`    // e.g. "admin", "operator", "cp:CP-001", "registry"
	Source    string `json:"source"` // the peer's address, "" when local
	Action    string `json:"action"` // e.g. "register", "token.issue", "auth.fail"
	Target    string `json:"target"` // e.g. a charge point id
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id"`
	Detail    string `json:"detail,omitempty"`
}

// Record is one line of the log.
type Record struct {
	Seq  uint64 `json:"seq"`
	Time string `json:"time"` // RFC 3339 with nanoseconds, UTC
	Event
	Prev string `json:"prev"` // Hash of the record before, genesis for the first
	Hash string `json:"hash"` // SHA-256 of this record's JSON with Hash empty
}

// computeHash is the hash a record must carry: over its own JSON encoding
// with Hash empty (encoding/json writes fields in a fixed order and escapes
// strings one way, so the bytes are reproducible from the decoded record).
func computeHash(r Record) (string, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode audit record %d: %w", r.Seq, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
