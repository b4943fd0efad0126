package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/testutil"
)

// TestMakeHelpListsEveryDocumentedTarget runs `make help` as a user would and
// checks that it lists every target that has a "## " comment in the Makefile.
func TestMakeHelpListsEveryDocumentedTarget(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make on this machine")
	}
	src, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	cmd := testutil.Command(t, makeBin, "-s", "help")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			listed[f[0]] = true
		}
	}
	documented := regexp.MustCompile(`(?m)^([^\s:#=]+):[^=\n]*## `).FindAllStringSubmatch(string(src), -1)
	if len(documented) < 10 {
		t.Fatalf("found only %d documented targets in the Makefile", len(documented))
	}
	for _, m := range documented {
		if !listed[m[1]] {
			t.Errorf("make help does not list %s", m[1])
		}
	}
}
