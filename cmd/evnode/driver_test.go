package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evcharging/evsim/actors/driver"
)

// The progress file keeps which requests it counts through; a file written
// before it did loads with none, which the driver takes for other requests.
func TestDriverProgressFileKeepsItsRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "driver-alice.json")
	p := fileProgress{path: path}
	want := driver.Position{Next: 2, RequestID: "alice-1-1", CPID: "CP-002", Requests: driver.RequestsDigest([]string{"CP-001", "CP-002"})}
	if err := p.Save(want); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Load(); err != nil || got != want {
		t.Fatalf("Load() = %+v, %v; want %+v", got, err, want)
	}
	if p.String() != path {
		t.Errorf("String() = %q, want the path (the driver names it in its lines)", p.String())
	}
	if err := os.WriteFile(path, []byte(`{"Next":4,"RequestID":"","CPID":"","SessionID":""}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Load(); err != nil || got.Next != 4 || got.Requests != "" {
		t.Fatalf("an old progress file: Load() = %+v, %v", got, err)
	}
}
