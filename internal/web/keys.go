package web

import (
	"context"

	"github.com/evcharging/evsim/actors/central"
)

// Key actions: POST /api/chargepoints/{id}/revoke-key revokes a charge
// point's keys (it shows REVOKED, its traffic is refused, a running supply
// ends with its ticket); .../rotate-key issues it a new key (also after a
// revocation). Both need the operator token and are audited like the other
// operator actions.

func init() {
	// A record that does not open with its charge point's key.
	stateNames = append(stateNames, "ENCRYPTION_ERROR")
	looks["ENCRYPTION_ERROR"] = look{"red", "Encryption error"}
}

// keyAction carries out revoke-key or rotate-key.
func (s *Server) keyAction(ctx context.Context, id, action string) (*central.OperatorResult, error) {
	ko, ok := s.opts.Panel.(central.KeyOperator)
	if !ok {
		return &central.OperatorResult{Err: "this Central has no key actions"}, nil
	}
	if action == "revoke-key" {
		return ko.RevokeKey(ctx, id)
	}
	return ko.RotateKey(ctx, id)
}

// RevokeKey implements central.KeyOperator.
func (s *PanelSlot) RevokeKey(ctx context.Context, cpID string) (*central.OperatorResult, error) {
	p, err := s.keyPanel()
	if err != nil {
		return nil, err
	}
	return p.RevokeKey(ctx, cpID)
}

// RotateKey implements central.KeyOperator.
func (s *PanelSlot) RotateKey(ctx context.Context, cpID string) (*central.OperatorResult, error) {
	p, err := s.keyPanel()
	if err != nil {
		return nil, err
	}
	return p.RotateKey(ctx, cpID)
}

func (s *PanelSlot) keyPanel() (central.KeyOperator, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	ko, ok := p.(central.KeyOperator)
	if !ok {
		return noKeys{}, nil
	}
	return ko, nil
}

// noKeys answers key actions of a panel without them.
type noKeys struct{}

func (noKeys) RevokeKey(context.Context, string) (*central.OperatorResult, error) {
	return &central.OperatorResult{Err: "this Central has no key actions"}, nil
}

func (noKeys) RotateKey(context.Context, string) (*central.OperatorResult, error) {
	return &central.OperatorResult{Err: "this Central has no key actions"}, nil
}
