package monitor

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Tokens: where Central verifies the Registry's tokens, the monitor
// exchanges its charge point's credential for a token (Config.Token) and
// presents it when it registers. The exchange runs off the actor (it is a
// call over the network); its result comes back as a message.
//
// A token expires: the monitor renews it before (see renewLead) and
// presents the new one to Central, which keeps the registration. A monitor that cannot get a token (the Registry
// away, a wrong credential) registers without one, saying why, so that
// Central's panel shows the charge point refused with that reason.

// TokenSource gets a token for the charge point from the Registry. It may
// block until ctx ends; it runs on a goroutine of its own.
type TokenSource func(ctx context.Context) (token string, expires time.Time, err error)

// tokenFetched is the result of a TokenSource call.
type tokenFetched struct {
	token   string
	expires time.Time
	err     error
}

// tokenMargin: a token that expires sooner than this (or than a third of
// its life) is renewed.
const tokenMargin = 15 * time.Second

// tokenTimeout bounds one exchange with the Registry.
const tokenTimeout = 10 * time.Second

// renewLead is how long before its expiry the token is renewed: a third of
// its life (at most tokenMargin), and at least two liveness intervals (the
// renewal is looked at on each), but no more than half its life.
func (m *Monitor) renewLead() time.Duration {
	return min(max(min(tokenMargin, m.tokenLife/3), 2*m.cfg.LivenessInterval), m.tokenLife/2)
}

// tokenUsable: a token that has not expired may be presented.
func (m *Monitor) tokenUsable() bool {
	return m.token != "" && m.cfg.Now().Before(m.tokenExpires)
}

// renewToken renews the token of a registered monitor when it is due
// (and not after a failure, until the retry pause has passed).
func (m *Monitor) renewToken(ctx actor.Context, now time.Time) {
	if m.cfg.Token == nil || m.token == "" || now.Add(m.renewLead()).Before(m.tokenExpires) || now.Before(m.renewAfter) {
		return
	}
	m.fetchToken(ctx)
}

// fetchToken asks the Registry for a token, once at a time.
func (m *Monitor) fetchToken(ctx actor.Context) {
	if m.fetching {
		return
	}
	m.fetching = true
	src, self, sys := m.cfg.Token, ctx.Self(), ctx.ActorSystem()
	go func() {
		c, cancel := context.WithTimeout(context.Background(), tokenTimeout)
		defer cancel()
		tok, exp, err := src(c)
		sys.Root.Send(self, &tokenFetched{token: tok, expires: exp, err: err})
	}()
}

func (m *Monitor) tokenArrived(ctx actor.Context, t *tokenFetched) {
	m.fetching = false
	now := m.cfg.Now()
	if t.err != nil {
		m.tokenFailed(ctx, "the Registry: "+t.err.Error(), now)
		return
	}
	if m.tokenProblem != "" {
		m.log.Entry().Infof("Got a token for %s from the Registry again", m.cfg.CPID)
		m.tokenProblem = ""
	}
	m.token, m.tokenExpires, m.tokenLife = t.token, t.expires, t.expires.Sub(now)
	m.log.Entry().Debugf("Got a token for %s from the Registry, valid until %s", m.cfg.CPID, t.expires.Format(time.RFC3339))
	m.register(ctx) // registers, or presents the renewed token to Central
}

// tokenFailed: while its token lasts, the monitor presents it and retries
// the renewal; without one it registers without a token, saying why, so
// that Central shows it.
func (m *Monitor) tokenFailed(ctx actor.Context, reason string, now time.Time) {
	retry := 5 * m.cfg.LivenessInterval
	m.renewAfter = now.Add(retry)
	first := m.tokenProblem != reason
	m.tokenProblem = reason
	if m.token != "" && now.Before(m.tokenExpires) {
		if first {
			m.log.Entry().Warnf("Cannot renew the token of %s from %s; Central ends its registration when the token expires at %s; asking again every %v",
				m.cfg.CPID, reason, m.tokenExpires.UTC().Format(time.RFC3339), retry)
		}
		if !m.registered {
			m.askRegistration(ctx, "") // the token still holds
		}
		return
	}
	if first {
		m.log.Entry().Warnf("Cannot get a token for %s from %s; registering without one so that Central shows why; asking again every %v", m.cfg.CPID, reason, retry)
	}
	m.token = ""
	m.askRegistration(ctx, reason)
}
