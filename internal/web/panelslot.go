package web

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/evcharging/evsim/actors/central"
)

// ErrCentralNotStarted is what a PanelSlot answers before Set.
var ErrCentralNotStarted = errors.New("Central has not started yet (the process is waiting for Kafka)")

// PanelSlot is a central.Panel for a server that starts before Central
// does, so that /healthz and /readyz answer from the first moment: until
// Set it answers ErrCentralNotStarted (the API says 503, the live stream
// "unavailable"), then it passes every call on. Safe for concurrent use.
type PanelSlot struct {
	p atomic.Pointer[central.Panel]
}

// Set hands over Central's panel.
func (s *PanelSlot) Set(p central.Panel) { s.p.Store(&p) }

func (s *PanelSlot) panel() (central.Panel, error) {
	if p := s.p.Load(); p != nil {
		return *p, nil
	}
	return nil, ErrCentralNotStarted
}

// Snapshot implements central.Panel.
func (s *PanelSlot) Snapshot(ctx context.Context) (*central.Snapshot, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	return p.Snapshot(ctx)
}

// Events implements central.Panel.
func (s *PanelSlot) Events(ctx context.Context, since uint64, limit int) ([]central.Event, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	return p.Events(ctx, since, limit)
}

// Watch implements central.Panel; before Set the channel is closed at once.
func (s *PanelSlot) Watch(ctx context.Context) <-chan central.Update {
	p, err := s.panel()
	if err != nil {
		ch := make(chan central.Update)
		close(ch)
		return ch
	}
	return p.Watch(ctx)
}

// Stop implements central.Panel.
func (s *PanelSlot) Stop(ctx context.Context, cpID string) (*central.OperatorResult, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	return p.Stop(ctx, cpID)
}

// Resume implements central.Panel.
func (s *PanelSlot) Resume(ctx context.Context, cpID string) (*central.OperatorResult, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	return p.Resume(ctx, cpID)
}

// KnockOut implements central.Panel.
func (s *PanelSlot) KnockOut(ctx context.Context, cpID string, ko bool) (*central.OperatorResult, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	return p.KnockOut(ctx, cpID, ko)
}
