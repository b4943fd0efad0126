package registry

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// Claims are a token's content: who (sub), for whom (aud), by whom (iss),
// until when (exp), and the charge point's token version (tv).
type Claims struct {
	TokenVersion uint64 `json:"tv"`
	jwt.RegisteredClaims
}

// Token is a token issued to a charge point.
type Token struct {
	Token     string
	ExpiresAt time.Time
}

// IssueToken exchanges a charge point's credential for a signed token. A
// wrong id or credential is ErrBadCredential (the same answer, in the same
// time, for both); a revoked one ErrRevoked; too many failures from the
// caller's source a *ThrottledError.
func (r *Registry) IssueToken(c Caller, id, credential string) (Token, error) {
	keys := r.throttleKeys("cp", id, c.Source)
	var hash []byte
	var wait time.Duration
	err := r.do(func(st *state) {
		if wait = r.blocked(st, keys); wait > 0 {
			return
		}
		hash = r.dummy
		if cp := st.cps[id]; cp != nil && cp.Hash != nil {
			hash = cp.Hash
		}
	})
	if err != nil {
		return Token{}, err
	}
	if wait > 0 {
		r.audit(c, "token.issue", id, audit.OutcomeDenied, "throttled")
		return Token{}, &ThrottledError{RetryAfter: wait}
	}
	matches := credentialMatches(hash, credential) // slow: off the owner
	var out Token
	var opErr error
	err = r.do(func(st *state) {
		cp := st.cps[id]
		// The hash compared must still be the charge point's: a rotation
		// or deregistration in between wins.
		if !matches || cp == nil || cp.Hash == nil || string(cp.Hash) != string(hash) {
			opErr = ErrBadCredential
			if lock := r.fail(st, keys); lock > 0 {
				r.opts.Logger.WithFields(map[string]any{"cp_id": id, "source": c.Source}).Warnf("Too many failed authentications for %s from %s: refused for %s", id, sourceHost(c.Source), lock)
			}
			r.audit(c, "auth.fail", id, audit.OutcomeDenied, "wrong id or credential")
			return
		}
		r.succeed(st, "cp", id, c.Source)
		if cp.State == messages.IdentityState_IDENTITY_STATE_REVOKED {
			opErr = fmt.Errorf("%w: %s", ErrRevoked, id)
			r.audit(c, "token.issue", id, audit.OutcomeDenied, "revoked")
			return
		}
		out, opErr = r.sign(cp)
		if opErr != nil {
			return
		}
		r.audit(c, "token.issue", id, audit.OutcomeOK, fmt.Sprintf("token version %d, expires %s", cp.TokenVersion, out.ExpiresAt.UTC().Format(time.RFC3339)))
	})
	return out, errors.Join(err, opErr)
}

func (r *Registry) sign(cp *chargePoint) (Token, error) {
	now := r.opts.Now()
	// The token's exp has whole seconds: the answer's expires_at must be
	// that instant, not a later one (a holder that renews by it would be
	// late by up to a second).
	exp := now.Add(r.opts.TokenTTL).Truncate(jwt.TimePrecision)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return Token{}, fmt.Errorf("token id: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{
		TokenVersion: cp.TokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: r.opts.Issuer, Subject: cp.ID, Audience: jwt.ClaimStrings{r.opts.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(exp), ID: hex.EncodeToString(jti),
		},
	})
	t.Header["kid"] = r.kid
	s, err := t.SignedString(r.key)
	if err != nil {
		return Token{}, fmt.Errorf("sign a token: %w", err)
	}
	return Token{Token: s, ExpiresAt: jwt.NewNumericDate(exp).Time}, nil
}

// CheckAdmin checks the admin token; a wrong one counts towards the
// source's throttle and is audited.
func (r *Registry) CheckAdmin(c Caller, token string) error {
	keys := r.throttleKeys("admin", "", c.Source)
	var opErr error
	err := r.do(func(st *state) {
		if wait := r.blocked(st, keys); wait > 0 {
			opErr = &ThrottledError{RetryAfter: wait}
			return
		}
		if adminTokenMatches(r.opts.AdminToken, token) {
			r.succeed(st, "admin", "", c.Source)
			return
		}
		opErr = ErrBadCredential
		if lock := r.fail(st, keys); lock > 0 {
			r.opts.Logger.WithField("source", c.Source).Warnf("Too many wrong admin tokens from %s: refused for %s", sourceHost(c.Source), lock)
		}
		r.audit(c, "admin.auth.fail", "", audit.OutcomeDenied, "wrong admin token")
	})
	return errors.Join(err, opErr)
}
