package webtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/evcharging/evsim/actors/driverdesk"
)

// Desk is a fake driver desk for tests of the web layer: it keeps the
// requests it is given, newest first, and passes each to the driver's
// watchers; nothing reaches a Central. The real one is driverdesk.Desk.
type Desk struct {
	mu       sync.Mutex
	requests map[string][]driverdesk.Request
	watchers map[string]map[int]chan driverdesk.Update
	n        int
}

// NewDesk returns an empty fake desk.
func NewDesk() *Desk {
	return &Desk{requests: map[string][]driverdesk.Request{}, watchers: map[string]map[int]chan driverdesk.Update{}}
}

// Request implements web.DriverDesk: the request stays "requested".
func (d *Desk) Request(_ context.Context, driverID, cpID string) (driverdesk.Request, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	now := time.Now()
	r := driverdesk.Request{RequestID: fmt.Sprintf("web-%s-%d", driverID, d.n), DriverID: driverID, CPID: cpID,
		Status: driverdesk.StatusRequested, RequestedAt: now, UpdatedAt: now}
	d.requests[driverID] = append([]driverdesk.Request{r}, d.requests[driverID]...)
	for _, ch := range d.watchers[driverID] {
		c := r
		select {
		case ch <- driverdesk.Update{Request: &c}:
		default:
		}
	}
	return r, nil
}

// Requests implements web.DriverDesk.
func (d *Desk) Requests(_ context.Context, driverID string) ([]driverdesk.Request, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]driverdesk.Request{}, d.requests[driverID]...), nil
}

// Watch implements web.DriverDesk; the channel closes when ctx ends.
func (d *Desk) Watch(ctx context.Context, driverID string) (<-chan driverdesk.Update, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	id := d.n
	ch := make(chan driverdesk.Update, 16)
	if d.watchers[driverID] == nil {
		d.watchers[driverID] = map[int]chan driverdesk.Update{}
	}
	d.watchers[driverID][id] = ch
	go func() {
		<-ctx.Done()
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.watchers[driverID], id)
		close(ch)
	}()
	return ch, nil
}
