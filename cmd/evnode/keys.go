package main

import (
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/seal"
)

// useKeys gives the node's bridge a keyring (nil with --encryption off),
// so that it seals and opens the charge points' topics; one INFO line says
// which. A Central also gets its master key (load it with centralKeys).
func (n *node) useKeys(e config.Encryption) *seal.Keyring {
	if !e.On() {
		n.log.Info("Encryption is off: the records between Central and the charge points travel in clear (--encryption off)")
		return nil
	}
	n.keys = seal.NewKeyring()
	return n.keys
}

// centralKeys is useKeys for Central, with the master key that wraps the
// keys in its database db.
func (n *node) centralKeys(e config.Encryption, db string) (*seal.Keyring, *seal.MasterKey, error) {
	if !e.On() {
		return n.useKeys(e), nil, nil
	}
	mk, from, err := e.LoadMasterKey(db)
	if err != nil {
		return nil, nil, err
	}
	n.log.Infof("Encryption is on: each charge point's traffic is sealed with its own key; the keys are stored wrapped with %s (%s)", mk, from)
	n.keys = seal.NewKeyring()
	return n.keys, mk, nil
}
