package registry

import (
	"fmt"
	"time"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// FirstTokens signs a first token for each charge point that RegisterAll
// has just answered, for a caller that runs those charge points itself
// (evsim's in-process Registry): their first exchange then needs no bcrypt
// comparison of the credential they were just given, which at the floor
// cost (4) is about 0.8 ms of CPU per charge point, half of what a start
// with the Registry costs. It grants nothing the credentials do not —
// whoever holds RegisterAll's answer can exchange them at once — and only
// for the token version registered: a charge point rotated, revoked or
// deregistered since gets an empty Token (its credential exchange decides).
// Each token issued is audited, as an exchange is.
func (r *Registry) FirstTokens(c Caller, regs []Registered) ([]Token, error) {
	current := make([]*chargePoint, len(regs))
	err := r.do(func(st *state) {
		for i, g := range regs {
			cp := st.cps[g.ID]
			if cp != nil && cp.Hash != nil && cp.TokenVersion == g.View.TokenVersion &&
				cp.State == messages.IdentityState_IDENTITY_STATE_REGISTERED {
				current[i] = &chargePoint{ID: cp.ID, TokenVersion: cp.TokenVersion}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// Signing (Ed25519) runs off the owner, on every core.
	out := make([]Token, len(regs))
	errs := make([]error, len(regs))
	onEveryCore(len(regs), func(i int) {
		if current[i] != nil {
			out[i], errs[i] = r.sign(current[i])
		}
	})
	err = r.do(func(*state) {
		for i, cp := range current {
			switch {
			case cp == nil:
			case errs[i] != nil:
				out[i] = Token{}
			default:
				r.audit(c, "token.issue", cp.ID, audit.OutcomeOK, fmt.Sprintf("token version %d at registration, expires %s",
					cp.TokenVersion, out[i].ExpiresAt.UTC().Format(time.RFC3339)))
			}
		}
	})
	for _, e := range errs {
		if e != nil {
			return out, e
		}
	}
	return out, err
}
