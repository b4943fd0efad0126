package sim

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/evcharging/evsim/internal/config"
)

// shipped holds the request files of the default scenario (alice, bob, charlie).
//
//go:embed requests/*.txt
var shipped embed.FS

// MinGeneratedRequests is how many requests a driver without a file gets.
const MinGeneratedRequests = 10

// ParseRequests reads one charge point id per line; blank lines and lines
// starting with # are skipped. name is used in errors ("alice.txt line 3").
func ParseRequests(r io.Reader, name string) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, " \t,;") {
			return nil, fmt.Errorf("%s line %d: %q is not one charge point id", name, n, line)
		}
		ids = append(ids, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ids, nil
}

// RequestSource is where drivers' request lists come from: a folder of
// <driver>.txt files, one file shared by every driver, or (empty) the shipped files.
type RequestSource struct {
	byDriver map[string][]string
	shared   []string
}

// LoadRequests reads path: a file (used by every driver) or a folder of
// <driver>.txt. An empty path means the files shipped with evsim.
func LoadRequests(path string) (*RequestSource, error) {
	src := &RequestSource{byDriver: map[string][]string{}}
	if path == "" {
		entries, err := shipped.ReadDir("requests")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			f, err := shipped.Open("requests/" + e.Name())
			if err != nil {
				return nil, err
			}
			ids, err := ParseRequests(f, e.Name())
			f.Close()
			if err != nil {
				return nil, err
			}
			src.byDriver[strings.TrimSuffix(e.Name(), ".txt")] = ids
		}
		return src, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, config.Usagef("requests", "%v", err)
	}
	if !info.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, config.Usagef("requests", "%v", err)
		}
		defer f.Close()
		ids, err := ParseRequests(f, filepath.Base(path))
		if err != nil {
			return nil, config.Usagef("requests", "%v", err)
		}
		if len(ids) == 0 {
			return nil, config.Usagef("requests", "%s has no charge point ids", path)
		}
		src.shared = ids
		return src, nil
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.txt"))
	if err != nil {
		return nil, config.Usagef("requests", "%v", err)
	}
	if len(matches) == 0 {
		return nil, config.Usagef("requests", "folder %s has no <driver>.txt files", path)
	}
	for _, m := range matches {
		f, err := os.Open(m)
		if err != nil {
			return nil, config.Usagef("requests", "%v", err)
		}
		ids, err := ParseRequests(f, filepath.Base(m))
		f.Close()
		if err != nil {
			return nil, config.Usagef("requests", "%v", err)
		}
		src.byDriver[strings.TrimSuffix(filepath.Base(m), ".txt")] = ids
	}
	return src, nil
}

// Plan gives each of the drivers its list of charge point ids. A driver with
// a file gets the file; any other driver gets MinGeneratedRequests ids drawn
// from CP-001..CP-<cps> by a generator seeded with seed and the driver's
// index, so the same seed and flags always give the same plan.
func (s *RequestSource) Plan(drivers, cps int, seed int64) map[string][]string {
	plan := make(map[string][]string, drivers)
	for i := 0; i < drivers; i++ {
		id := config.DriverName(i)
		switch {
		case s.shared != nil:
			plan[id] = append([]string(nil), s.shared...)
		case s.byDriver[id] != nil:
			plan[id] = append([]string(nil), s.byDriver[id]...)
		default:
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			ids := make([]string, MinGeneratedRequests)
			for j := range ids {
				ids[j] = config.ChargePointID(rng.IntN(cps))
			}
			plan[id] = ids
		}
	}
	return plan
}

// For returns driver id's requests from the file or folder, or nil when it
// has none there (e.g. the shipped files name only alice, bob and charlie).
func (s *RequestSource) For(id string) []string {
	if s.shared != nil {
		return append([]string(nil), s.shared...)
	}
	if ids := s.byDriver[id]; ids != nil {
		return append([]string(nil), ids...)
	}
	return nil
}
