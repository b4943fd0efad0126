package weather

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/internal/logging"
)

// FileProvider is the offline provider. A city's temperature is, newest
// first: what SetTemperature (a scenario step) or the file last said of it;
// otherwise a mild temperature (6 to 20 °C) drawn from the seed, varying by
// up to half a degree from one reading to the next, so that the same seed
// gives the same readings and a city is never frozen unless told to.
//
// The file has one "CITY CELSIUS" line per city (# comments and blank lines
// skipped). It is read again when its modification time or size changes;
// then its values replace what a scenario set for those cities.
type FileProvider struct {
	path string
	seed int64
	log  logrus.FieldLogger

	mu      sync.Mutex // Read runs on the office's poll goroutine, SetTemperature on a scenario's
	set     map[string]float64
	names   map[string]string // city key -> spelling
	reads   map[string]uint64 // readings of a seeded city so far
	stamp   fileStamp
	fileErr string // the file's last problem, said once
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewFileProvider returns the file provider; path may be empty (no file).
// A file that cannot be read or has a bad line is an error here, so that a
// run with a wrong file stops before it starts; later the last good values
// are kept and the problem is reported by Read.
func NewFileProvider(path string, seed int64, log logrus.FieldLogger) (*FileProvider, error) {
	if log == nil {
		log = logging.Discard()
	}
	p := &FileProvider{path: path, seed: seed, log: logging.Component(log, "Weather"), set: map[string]float64{}, names: map[string]string{}, reads: map[string]uint64{}}
	if path != "" {
		if _, err := p.reload(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Name implements Provider.
func (p *FileProvider) Name() string { return "file" }

// SetTemperature sets a city's temperature until the next one (a scenario
// step "weather CITY CELSIUS").
func (p *FileProvider) SetTemperature(city string, celsius float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.put(city, celsius)
}

func (p *FileProvider) put(city string, celsius float64) {
	k := CityKey(city)
	p.set[k] = celsius
	if _, ok := p.names[k]; !ok {
		p.names[k] = strings.Join(strings.Fields(city), " ")
	}
}

// Cities implements CityLister: the cities of the file and the scenario.
func (p *FileProvider) Cities() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.names))
	for _, n := range p.names {
		out = append(out, n)
	}
	return unionCities(out)
}

// Read implements Provider; it never fails. A problem with the file (gone,
// a bad line) is one WARN line, and the values read before are kept.
func (p *FileProvider) Read(_ context.Context, city string) (float64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path != "" {
		changed, err := p.reload()
		switch {
		case err != nil && err.Error() != p.fileErr:
			p.fileErr = err.Error()
			p.log.Warnf("%v; keeping the temperatures read before", err)
		case changed:
			p.fileErr = ""
			p.log.Infof("Read the temperature file %s again: it changed", p.path)
		}
	}
	k := CityKey(city)
	if c, ok := p.set[k]; ok {
		return c, nil
	}
	n := p.reads[k]
	p.reads[k] = n + 1
	return p.seeded(k, n), nil
}

// seeded is the n-th reading of a city nobody set: a base of 6 to 20 °C
// from the seed and the city, and a step of at most ±0.5 °C per reading.
func (p *FileProvider) seeded(key string, n uint64) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	city := h.Sum64()
	base := 6 + 14*rand.New(rand.NewPCG(uint64(p.seed), city)).Float64()
	wobble := rand.New(rand.NewPCG(uint64(p.seed)^city, n)).Float64() - 0.5
	return float64(int((base+wobble)*10)) / 10
}

// reload reads the file again if it changed; it reports whether it did.
func (p *FileProvider) reload() (bool, error) {
	fi, err := os.Stat(p.path)
	if err != nil {
		return false, fmt.Errorf("temperature file %s: %w", p.path, errors.Unwrap(err))
	}
	st := fileStamp{fi.ModTime(), fi.Size()}
	if st == p.stamp {
		return false, nil
	}
	data, err := os.ReadFile(p.path)
	if err != nil {
		return false, fmt.Errorf("temperature file %s: %w", p.path, err)
	}
	values, err := parseTemperatures(data, p.path)
	if err != nil {
		return false, err
	}
	p.stamp = st
	for _, v := range values {
		p.put(v.city, v.celsius)
	}
	return true, nil
}

type cityValue struct {
	city    string
	celsius float64
}

// parseTemperatures reads "CITY CELSIUS" lines.
func parseTemperatures(data []byte, name string) ([]cityValue, error) {
	var out []cityValue
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		city, c, err := ParseCityTemperature(strings.Fields(line))
		if err != nil {
			return nil, fmt.Errorf("temperature file %s line %d: %v", name, n, err)
		}
		out = append(out, cityValue{city, c})
	}
	return out, sc.Err()
}
