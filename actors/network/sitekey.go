package network

import "context"

// siteKey is the key that derives the charge points' default secrets: the
// configured one (evnode site keeps its own), else one kept in Central's store.
func siteKey(cfg Config) ([]byte, error) {
	if len(cfg.SiteKey) > 0 {
		return cfg.SiteKey, nil
	}
	key, err := cfg.Store.EnsureSecret(context.Background(), "network-site-key")
	return []byte(key), err
}
