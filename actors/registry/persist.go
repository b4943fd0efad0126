package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/evcharging/evsim/messages"
)

// stateFile holds the charge points (credential hashes, never credentials).
const stateFile = "registry.json"

// chargePoint is one charge point as the Registry keeps it. A deregistered
// one stays (without its hash) so that its token version keeps rising if it
// registers again: a token of an earlier life is never valid in a later one.
type chargePoint struct {
	ID             string                 `json:"id"`
	Location       string                 `json:"location"`
	PriceEURPerKWh float64                `json:"price_eur_kwh"`
	Hash           []byte                 `json:"hash,omitempty"`
	TokenVersion   uint64                 `json:"token_version"`
	State          messages.IdentityState `json:"state"`
	RegisteredAt   time.Time              `json:"registered_at"`
	ChangedAt      time.Time              `json:"changed_at"`
}

type stateDoc struct {
	ChargePoints []*chargePoint `json:"chargepoints"`
}

func loadState(dir string) (map[string]*chargePoint, error) {
	cps := map[string]*chargePoint{}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return cps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the registry's state: %w", err)
	}
	var doc stateDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("read the registry's state %s: %w", filepath.Join(dir, stateFile), err)
	}
	for _, cp := range doc.ChargePoints {
		if cp != nil && cp.ID != "" {
			cps[cp.ID] = cp
		}
	}
	return cps, nil
}

func saveState(dir string, cps map[string]*chargePoint) error {
	doc := stateDoc{ChargePoints: sortedCPs(cps)}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the registry's state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFile), b); err != nil {
		return fmt.Errorf("save the registry's state: %w", err)
	}
	return nil
}
