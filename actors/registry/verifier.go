package registry

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/messages"
)

// Verifier checks tokens offline, from the Registry's records on the
// registry topic: the keys it signs with, and each charge point's state and
// token version. It is not safe for concurrent use: its owner (Central's
// actor) applies records and verifies tokens in turn.
type Verifier struct {
	opts   VerifierOptions
	keys   map[string]ed25519.PublicKey
	cps    map[string]*messages.ChargePointIdentity
	parser *jwt.Parser
}

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Audience and Issuer required in tokens. Defaults DefaultAudience, DefaultIssuer.
	Audience, Issuer string
	// TrustedKeys, when given, are the only keys accepted; RegistryKey
	// records are then ignored. Default: trust the keys on the topic.
	TrustedKeys []ed25519.PublicKey
	// Leeway for clock skew on expiry. Default 5 s.
	Leeway time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Initial, when set, gives records known without reading the topic
	// (a Registry in the same process: Registry.Records); each new
	// Verifier applies them first. The topic's records still follow.
	Initial func() []proto.Message
}

// NewVerifier returns a Verifier that knows no charge point yet.
func NewVerifier(o VerifierOptions) *Verifier {
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if o.Issuer == "" {
		o.Issuer = DefaultIssuer
	}
	if o.Leeway == 0 {
		o.Leeway = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &Verifier{opts: o, keys: map[string]ed25519.PublicKey{}, cps: map[string]*messages.ChargePointIdentity{}}
	for _, k := range o.TrustedKeys {
		v.keys[KeyID(k)] = k
	}
	if o.Initial != nil {
		for _, m := range o.Initial() {
			v.Apply(m)
		}
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithAudience(o.Audience), jwt.WithIssuer(o.Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(func() time.Time { return v.opts.Now() }),
	)
	return v
}

// Apply takes one record of the registry topic and answers whether it
// changed what the Verifier knows. A record older than what is known (a
// token version no higher than the one known) is ignored, so a replayed
// record cannot undo a revocation.
func (v *Verifier) Apply(msg proto.Message) bool {
	switch m := msg.(type) {
	case *messages.RegistryKey:
		if len(v.opts.TrustedKeys) > 0 || len(m.GetPublicKey()) != ed25519.PublicKeySize {
			return false
		}
		k := ed25519.PublicKey(append([]byte(nil), m.GetPublicKey()...))
		if KeyID(k) != m.GetKeyId() {
			return false
		}
		if _, ok := v.keys[m.GetKeyId()]; ok {
			return false
		}
		v.keys[m.GetKeyId()] = k
		return true
	case *messages.ChargePointIdentity:
		if m.GetCpId() == "" {
			return false
		}
		// With pinned keys, only the records of that Registry count: another
		// Registry writing to the same topic says nothing about ours.
		if _, ours := v.keys[m.GetRegistryKeyId()]; len(v.opts.TrustedKeys) > 0 && !ours {
			return false
		}
		// Every change raises the version: a record of a version already
		// known is a repeat (or a forgery), never a change.
		if cur := v.cps[m.GetCpId()]; cur != nil && m.GetTokenVersion() <= cur.GetTokenVersion() {
			return false
		}
		v.cps[m.GetCpId()] = proto.Clone(m).(*messages.ChargePointIdentity)
		return true
	}
	return false
}

// Identity answers what the Registry says about a charge point, if anything.
func (v *Verifier) Identity(cpID string) (*messages.ChargePointIdentity, bool) {
	m, ok := v.cps[cpID]
	return m, ok
}

// HasKey reports whether a key to verify with is known.
func (v *Verifier) HasKey() bool { return len(v.keys) > 0 }

// Verify checks that token was issued by the Registry to cpID, for this
// audience, is not expired, and carries the charge point's current token
// version while it is registered. The error wraps one of the ErrToken...,
// ErrUnregistered or ErrNoRegistryKey reasons.
func (v *Verifier) Verify(cpID, token string) (*Claims, error) {
	if token == "" {
		return nil, ErrTokenMissing
	}
	if !v.HasKey() {
		return nil, ErrNoRegistryKey
	}
	claims := &Claims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := v.keys[kid]
		if !ok {
			return nil, ErrTokenUnknownKey
		}
		return k, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, ErrTokenUnknownKey):
		return nil, ErrTokenUnknownKey
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if claims.Subject != cpID {
		return nil, ErrTokenOtherCP
	}
	id, ok := v.cps[cpID]
	if !ok || id.GetState() == messages.IdentityState_IDENTITY_STATE_DEREGISTERED {
		return nil, ErrUnregistered
	}
	if id.GetState() == messages.IdentityState_IDENTITY_STATE_REVOKED {
		return nil, ErrTokenRevoked
	}
	if id.GetState() != messages.IdentityState_IDENTITY_STATE_REGISTERED {
		return nil, ErrUnregistered
	}
	if claims.TokenVersion != id.GetTokenVersion() {
		return nil, fmt.Errorf("%w: token version %d, the Registry's is %d", ErrTokenStale, claims.TokenVersion, id.GetTokenVersion())
	}
	return claims, nil
}

// StillValid re-checks a charge point admitted earlier against what is
// known now (e.g. after a revocation record arrives): nil while its state
// and token version are unchanged.
func (v *Verifier) StillValid(cpID string, tokenVersion uint64) error {
	id, ok := v.cps[cpID]
	switch {
	case !ok || id.GetState() == messages.IdentityState_IDENTITY_STATE_DEREGISTERED:
		return ErrUnregistered
	case id.GetState() == messages.IdentityState_IDENTITY_STATE_REVOKED:
		return ErrTokenRevoked
	case id.GetTokenVersion() != tokenVersion:
		return ErrTokenStale
	}
	return nil
}

// ExpiredBy says whether a token that expires at exp is refused at now, as
// Verify refuses it (after the clock-skew leeway): a holder admitted with it
// must have presented a newer one by then.
func (v *Verifier) ExpiredBy(exp, now time.Time) bool {
	return !now.Before(exp.Add(v.opts.Leeway))
}
