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

// TokenSource gets a token for the charge point from the Registry. It may
// block until ctx ends; it runs on a goroutine of its own.
type TokenSource func(ctx context.Context) (token string, expires time.Time, err error)

// tokenFetched is the result of a TokenSource call.
type tokenFetched struct {
	token   string
	expires time.Time
	err     error
}

// tokenMargin: a token that expires sooner than this is renewed before use.
const tokenMargin = 15 * time.Second

// tokenTimeout bounds one exchange with the Registry.
const tokenTimeout = 10 * time.Second

func (m *Monitor) tokenFresh() bool {
	return m.token != "" && m.cfg.Now().Add(tokenMargin).Before(m.tokenExpires)
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
	if t.err != nil {
		reason := "the Registry: " + t.err.Error()
		if m.rejected != reason {
			m.rejected = reason
			m.log.Entry().Warnf("Cannot get a token for %s from %s; asking again every %v", m.cfg.CPID, reason, 5*m.cfg.LivenessInterval)
		}
		return
	}
	m.token, m.tokenExpires = t.token, t.expires
	m.log.Entry().Debugf("Got a token for %s from the Registry, valid until %s", m.cfg.CPID, t.expires.Format(time.RFC3339))
	m.register(ctx)
}
