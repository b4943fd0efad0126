package seal

import (
	"slices"
	"sync"

	"github.com/evcharging/evsim/messages"
)

// Keyring holds the keys of the charge points this process talks to: all
// of them in Central, its own in an engine. It is safe for concurrent use:
// the bridge seals and opens in its producer and consumer goroutines while
// the roles install and revoke keys.
//
// Per charge point it keeps the current key (sealing), the MaxPrevious
// keys before it (still open records sealed before a rotation, e.g. kept
// through a broker outage), a staged one (issued,
// opens, but seals nothing until the other side confirms it holds it) and
// whether its keys are revoked (nothing opens, nothing is sealed until a
// new key is installed).
type Keyring struct {
	mu       sync.RWMutex
	byID     map[string]*Key // every key that opens: current and previous
	cps      map[string]*cpKeys
	revoked  map[string]string // revoked key id -> its charge point
	watchers []func(cpID string)
	// sealing maps a cp id to its current key, written under mu and read
	// without it: Current runs for every record sealed, on the bridge's
	// actor and encoder goroutines at once, where the read lock's shared
	// counter cost 30 ns a call.
	sealing sync.Map
}

// MaxPrevious is how many replaced keys of a charge point still open.
const MaxPrevious = 3

type cpKeys struct {
	current, staged *Key
	previous        []*Key // newest first
	revoked         bool
}

// all is every key of the charge point that opens.
func (ck *cpKeys) all() []*Key {
	out := append([]*Key{ck.current, ck.staged}, ck.previous...)
	return slices.DeleteFunc(out, func(k *Key) bool { return k == nil })
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring {
	return &Keyring{byID: map[string]*Key{}, cps: map[string]*cpKeys{}, revoked: map[string]string{}}
}

// Watch calls fn (from the goroutine that changed it) after every change
// of a charge point's keys. fn must not block: a bridge sends itself a
// message.
func (r *Keyring) Watch(fn func(cpID string)) {
	r.mu.Lock()
	r.watchers = append(r.watchers, fn)
	r.mu.Unlock()
}

// Install makes k its charge point's current key. The current key it
// replaces still opens records (a rotation); the one before that no
// longer does. Installing the current key again changes nothing.
func (r *Keyring) Install(k *Key) {
	r.mu.Lock()
	ck := r.cps[k.CPID]
	if ck == nil {
		ck = &cpKeys{}
		r.cps[k.CPID] = ck
	}
	if ck.current != nil && ck.current.ID == k.ID && !ck.revoked {
		r.mu.Unlock()
		return
	}
	if ck.staged != nil && ck.staged.ID == k.ID {
		ck.staged = nil
	}
	ck.previous = slices.DeleteFunc(ck.previous, func(p *Key) bool { return p.ID == k.ID })
	if ck.current != nil && ck.current.ID != k.ID && !ck.revoked {
		ck.previous = append([]*Key{ck.current}, ck.previous...)
	}
	for _, old := range ck.previous[min(len(ck.previous), MaxPrevious):] {
		delete(r.byID, old.ID)
	}
	ck.previous = ck.previous[:min(len(ck.previous), MaxPrevious)]
	ck.current, ck.revoked = k, false
	r.sealing.Store(k.CPID, k)
	delete(r.revoked, k.ID)
	r.byID[k.ID] = k
	watchers := r.watchers
	r.mu.Unlock()
	notify(watchers, k.CPID)
}

// Stage adds k as its charge point's next key: it opens records at once,
// but sealing goes on with the current key (or waits, when there is none)
// until Install(k), once the other side confirmed it holds k. A key staged
// before it is forgotten.
func (r *Keyring) Stage(k *Key) {
	r.mu.Lock()
	ck := r.cps[k.CPID]
	if ck == nil {
		ck = &cpKeys{}
		r.cps[k.CPID] = ck
	}
	if ck.staged != nil && ck.staged.ID != k.ID {
		delete(r.byID, ck.staged.ID)
	}
	ck.staged = k
	delete(r.revoked, k.ID)
	r.byID[k.ID] = k
	r.mu.Unlock()
}

// Staged is cpID's staged key, if it has one.
func (r *Keyring) Staged(cpID string) (*Key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if ck := r.cps[cpID]; ck != nil && ck.staged != nil {
		return ck.staged, true
	}
	return nil, false
}

// InstallProto installs the key (or the revocation) a message carries.
func (r *Keyring) InstallProto(m *messages.ChargePointKey) error {
	if m.GetRevoked() {
		r.Revoke(m.GetCpId())
		return nil
	}
	k, err := FromProto(m)
	if err != nil {
		return err
	}
	r.Install(k)
	return nil
}

// Revoke forgets every key of cpID: its records no longer open and nothing
// is sealed for it until a new key is installed.
func (r *Keyring) Revoke(cpID string) {
	r.mu.Lock()
	ck := r.cps[cpID]
	if ck == nil {
		ck = &cpKeys{}
		r.cps[cpID] = ck
	}
	if ck.revoked {
		r.mu.Unlock()
		return
	}
	for _, k := range ck.all() {
		delete(r.byID, k.ID)
		r.revoked[k.ID] = cpID
	}
	ck.current, ck.previous, ck.staged, ck.revoked = nil, nil, nil, true
	r.sealing.Delete(cpID)
	watchers := r.watchers
	r.mu.Unlock()
	notify(watchers, cpID)
}

// Forget drops a charge point's keys without marking them revoked (e.g. a
// charge point deregistered).
func (r *Keyring) Forget(cpID string) {
	r.mu.Lock()
	if ck := r.cps[cpID]; ck != nil {
		for _, k := range ck.all() {
			delete(r.byID, k.ID)
		}
		delete(r.cps, cpID)
		r.sealing.Delete(cpID)
	}
	watchers := r.watchers
	r.mu.Unlock()
	notify(watchers, cpID)
}

// Current is the key that seals cpID's records, if there is one.
func (r *Keyring) Current(cpID string) (*Key, bool) {
	if k, ok := r.sealing.Load(cpID); ok {
		return k.(*Key), true
	}
	return nil, false
}

// Revoked says whether cpID's keys are revoked (and no new one installed).
func (r *Keyring) Revoked(cpID string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ck := r.cps[cpID]
	return ck != nil && ck.revoked
}

// Opener returns the key that opens a record sealed under keyID for cpID:
// ErrUnknownKey, ErrRevokedKey, or ErrWrongChargePoint when the key is
// another charge point's.
func (r *Keyring) Opener(keyID, cpID string) (*Key, error) {
	r.mu.RLock()
	k := r.byID[keyID]
	revokedFor, revoked := r.revoked[keyID]
	r.mu.RUnlock()
	switch {
	case k != nil && k.CPID != cpID, k == nil && revoked && revokedFor != cpID:
		return nil, ErrWrongChargePoint
	case k != nil:
		return k, nil
	case revoked:
		return nil, ErrRevokedKey
	}
	return nil, ErrUnknownKey
}

// Knows says whether cpID is one of this keyring's charge points: it has
// or had a key here (current, staged, replaced or revoked). A record of a
// charge point it does not know is another network's on a shared Kafka.
func (r *Keyring) Knows(cpID string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.cps[cpID]
	return ok
}

// Len is how many charge points have a current key.
func (r *Keyring) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, ck := range r.cps {
		if ck.current != nil {
			n++
		}
	}
	return n
}

func notify(watchers []func(string), cpID string) {
	for _, fn := range watchers {
		fn(cpID)
	}
}
