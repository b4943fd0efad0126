package seal

import "errors"

// Why a record does not open. The bridge names them in its WARN line.
var (
	// ErrNotSealed: a record on a sealed topic came in clear.
	ErrNotSealed = errors.New("record is not sealed")
	// ErrUnknownKey: no key with the record's key id is held here.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrRevokedKey: the record's key was revoked.
	ErrRevokedKey = errors.New("key is revoked")
	// ErrWrongChargePoint: the key, the envelope and the record key name different charge points.
	ErrWrongChargePoint = errors.New("record names another charge point than its key")
	// ErrOpen: authentication failed (tampered, or moved to another topic or type).
	ErrOpen = errors.New("record does not open with its key (tampered, or moved)")
	// ErrNoKey: there is no current key to seal with.
	ErrNoKey = errors.New("no key to seal with")
	// ErrBadMasterKey: a master key that is not 32 bytes in hex or base64.
	ErrBadMasterKey = errors.New("master key must be 32 bytes, written as 64 hex digits or in base64")
)
