package registry

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; callers compare with errors.Is.
var (
	// ErrExists: a charge point with this id is registered (rotate to renew its credential).
	ErrExists = errors.New("charge point already registered")
	// ErrNotFound: no registered charge point with this id.
	ErrNotFound = errors.New("charge point not registered")
	// ErrBadCredential: the id and credential do not match a registered charge point.
	ErrBadCredential = errors.New("wrong credential")
	// ErrRevoked: the charge point's tokens are revoked until it registers anew.
	ErrRevoked = errors.New("charge point revoked")
	// ErrInvalid: a request field is missing or malformed; the message says which.
	ErrInvalid = errors.New("invalid request")
	// ErrClosed: the Registry has been closed.
	ErrClosed = errors.New("registry closed")
)

// Reasons a Verifier refuses a token (Central's denial reasons).
var (
	ErrUnregistered    = errors.New("not registered in the Registry")
	ErrTokenRevoked    = errors.New("revoked in the Registry")
	ErrTokenExpired    = errors.New("token expired")
	ErrTokenInvalid    = errors.New("token invalid")
	ErrTokenStale      = errors.New("token superseded (older token version)")
	ErrTokenOtherCP    = errors.New("token issued to another charge point")
	ErrNoRegistryKey   = errors.New("no Registry key known yet")
	ErrTokenMissing    = errors.New("no token presented")
	ErrTokenUnknownKey = errors.New("token signed with an unknown key")
)

// ThrottledError: too many failures from this source (or for this id); try
// again after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts: retry in %s", e.RetryAfter.Round(time.Second))
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
