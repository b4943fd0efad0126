package main

import (
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/seal"
)

// openKeys returns the keyring that the bridge seals with and Central
// issues keys into, and the master key that wraps them in the database;
// both nil with --encryption off. One INFO line says which (never the key).
func (r *runner) openKeys(cfg *config.Sim) (*seal.Keyring, *seal.MasterKey, error) {
	if !cfg.Encryption.On() {
		r.log.Info("Encryption is off: the records between Central and the charge points travel in clear (--encryption off)")
		return nil, nil, nil
	}
	mk, from, err := cfg.Encryption.LoadMasterKey(cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	r.log.Infof("Encryption is on: each charge point's traffic is sealed with its own key; the keys are stored wrapped with %s (%s)", mk, from)
	return seal.NewKeyring(), mk, nil
}
