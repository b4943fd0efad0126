package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/internal/config"
)

// loadRegistryKey answers the Registry key Central pins: --registry-key,
// or the --registry-key-file that `evnode registry --public-dir` writes.
// A file that is not there yet (the Registry starting beside Central) is
// waited for, one INFO line, until ctx ends; a file that is there but
// holds no key is an error.
func loadRegistryKey(ctx context.Context, a config.CentralAuth, log *logrus.Entry) (ed25519.PublicKey, error) {
	if a.RegistryKeyFile == "" {
		return a.RegistryKey, nil
	}
	told := false
	for {
		text, err := os.ReadFile(a.RegistryKeyFile)
		if err == nil {
			key, err := config.ParseRegistryKey(string(text))
			if err != nil {
				return nil, errors.New(a.RegistryKeyFile + ": " + err.Error())
			}
			return key, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if !told {
			told = true
			log.Infof("Waiting for the Registry's public key in %s (written by the Registry at its start)", a.RegistryKeyFile)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
