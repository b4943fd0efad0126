package registry

import "time"

// failures counts failed attempts under one key (an id and source, a
// source, or the admin token and source) within a window.
type failures struct {
	count        int
	first        time.Time
	blockedUntil time.Time
}

// throttleKeys are the counters an attempt is checked against, each with its limit.
func (r *Registry) throttleKeys(kind, id, source string) map[string]int {
	t := r.opts.Throttle
	host := sourceHost(source)
	return map[string]int{
		kind + "|" + id + "|" + host: t.Limit,
		"source|" + host:             t.SourceLimit,
	}
}

// blocked answers how long the caller must still wait, 0 if it may try.
func (r *Registry) blocked(st *state, keys map[string]int) time.Duration {
	now := r.opts.Now()
	var wait time.Duration
	for k := range keys {
		if f := st.failures[k]; f != nil && now.Before(f.blockedUntil) {
			wait = max(wait, f.blockedUntil.Sub(now))
		}
	}
	return wait
}

// fail counts a failure under keys; it answers the lockout if one began.
func (r *Registry) fail(st *state, keys map[string]int) time.Duration {
	now := r.opts.Now()
	t := r.opts.Throttle
	var lock time.Duration
	for k, limit := range keys {
		f := st.failures[k]
		if f == nil || now.Sub(f.first) > t.Window {
			f = &failures{first: now}
			st.failures[k] = f
		}
		f.count++
		if f.count >= limit {
			f.blockedUntil = now.Add(t.Lockout)
			f.count, f.first = 0, now
			lock = t.Lockout
		}
	}
	r.sweep(st, now)
	return lock
}

// succeed clears the id's counter (not the source's: a guesser who also
// holds one good credential must not reset its budget with it).
func (r *Registry) succeed(st *state, kind, id, source string) {
	delete(st.failures, kind+"|"+id+"|"+sourceHost(source))
}

func (r *Registry) sweep(st *state, now time.Time) {
	if len(st.failures) <= r.opts.Throttle.MaxCounters {
		return
	}
	for k, f := range st.failures {
		if now.Sub(f.first) > r.opts.Throttle.Window && !now.Before(f.blockedUntil) {
			delete(st.failures, k)
		}
	}
	// Still too many (guesses from very many sources): memory is bounded
	// before counting is; lockouts in force are kept.
	for k, f := range st.failures {
		if len(st.failures) <= r.opts.Throttle.MaxCounters {
			return
		}
		if !now.Before(f.blockedUntil) {
			delete(st.failures, k)
		}
	}
}
