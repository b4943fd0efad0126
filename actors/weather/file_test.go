package weather_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/weather"
)

func read(t *testing.T, p weather.Provider, city string) float64 {
	t.Helper()
	c, err := p.Read(context.Background(), city)
	if err != nil {
		t.Fatalf("read %s: %v", city, err)
	}
	return c
}

// The file is read again when it changes; a bad version keeps the values
// read before, with one WARN; a scenario step and the file: the newest wins.
func TestFileProviderReadsItsFileAgainWhenItChanges(t *testing.T) {
	_, logger, logs := testkit.NewSystem(t)
	path := filepath.Join(t.TempDir(), "temperatures.txt")
	write := func(s string, age time.Duration) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		// A distinct modification time even on a coarse clock.
		at := time.Now().Add(-age)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("# city celsius\nAlicante 4\nSan Sebastian \u22121.5\n", time.Hour)
	p, err := weather.NewFileProvider(path, 1, logger)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Cities(), ","); got != "Alicante,San Sebastian" {
		t.Errorf("cities %q", got)
	}
	if a, s := read(t, p, "alicante"), read(t, p, "San  Sebastian"); a != 4 || s != -1.5 {
		t.Fatalf("Alicante %g, San Sebastian %g", a, s)
	}
	write("Alicante -2\n", 30*time.Minute)
	if a := read(t, p, "Alicante"); a != -2 {
		t.Fatalf("after the change Alicante is %g, want -2", a)
	}
	if len(logs.Lines("INFO", "Read the temperature file", "again")) != 1 {
		t.Errorf("no INFO line for the change")
	}
	write("Alicante cold\n", 20*time.Minute)
	for range 3 {
		if a := read(t, p, "Alicante"); a != -2 {
			t.Fatalf("a bad file changed Alicante to %g", a)
		}
	}
	if got := logs.Lines("WARN", "line 1", "keeping the temperatures read before"); len(got) != 1 {
		t.Errorf("want one WARN for the bad file, got %q", logs.Lines("WARN"))
	}
	p.SetTemperature("Alicante", 7)
	if a := read(t, p, "Alicante"); a != 7 {
		t.Fatalf("a scenario step: Alicante %g, want 7", a)
	}
	write("Alicante 1\n", 10*time.Minute)
	if a := read(t, p, "Alicante"); a != 1 {
		t.Fatalf("the file changed after the step: Alicante %g, want 1", a)
	}
	if _, err := weather.NewFileProvider(filepath.Join(t.TempDir(), "none.txt"), 1, logger); err == nil {
		t.Error("a missing file is not an error at start")
	}
}

// A city nobody set gets mild readings from the seed: the same seed, the
// same readings; never at or below 0 °C.
func TestFileProviderSeededReadingsAreReproducible(t *testing.T) {
	readings := func(seed int64) []float64 {
		p, err := weather.NewFileProvider("", seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for range 50 {
			for _, c := range []string{"Madrid", "Bilbao"} {
				out = append(out, read(t, p, c))
			}
		}
		return out
	}
	a, b, c := readings(42), readings(42), readings(43)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("reading %d: %g and %g with the same seed", i, a[i], b[i])
		}
		if a[i] <= 0 || a[i] > 21 {
			t.Fatalf("reading %d is %g: not mild", i, a[i])
		}
	}
	if equal(a, c) {
		t.Fatal("another seed gives the same readings")
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCityOfALocation(t *testing.T) {
	for loc, want := range map[string]string{
		"Alicante": "Alicante", "Madrid · Gran Vía 30": "Madrid", "San  Sebastian, Calle 1": "San Sebastian",
		"Site CP-001": "", "unknown": "", "": "",
	} {
		if got := weather.CityOf(loc); got != want {
			t.Errorf("CityOf(%q) = %q, want %q", loc, got, want)
		}
	}
	for c, want := range map[float64]string{-2: "\u22122 °C", 12.46: "12.5 °C", -0.01: "0 °C", 0: "0 °C", 3: "3 °C"} {
		if got := weather.FormatCelsius(c); got != want {
			t.Errorf("FormatCelsius(%g) = %q, want %q", c, got, want)
		}
	}
}
