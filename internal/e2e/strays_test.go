package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// TestKillStraysSparesRunningTests: scripts/kill-strays.sh (run by CI and
// the test scripts before they start) kills a binary under a test temp dir
// that no test owns any more, and leaves one that a running test owns.
func TestKillStraysSparesRunningTests(t *testing.T) {
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep to stand in for evnode")
	}
	bin := filepath.Join(t.TempDir(), "evnode")
	if err := os.WriteFile(bin, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	// An orphan: its shell exits at once, so no test is its ancestor.
	sh := testutil.Command(t, "sh", "-c", bin+" 3141 </dev/null >/dev/null 2>&1 & echo $!")
	out, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("orphan pid %q: %v", out, err)
	}
	owned := testutil.Command(t, bin, "3142")
	if err := owned.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = owned.Wait() }()
	for _, pid := range []int{orphan, owned.Process.Pid} {
		waitFor(t, fmt.Sprintf("process %d runs %s", pid, bin), func() bool { return runs(pid, bin) })
	}

	script := testutil.Command(t, "bash", filepath.Join("..", "..", "scripts", "kill-strays.sh"))
	said, err := script.CombinedOutput()
	if err != nil {
		t.Fatalf("kill-strays.sh: %v\n%s", err, said)
	}
	if !strings.Contains(string(said), fmt.Sprintf("killing pid %d ", orphan)) {
		t.Errorf("kill-strays.sh did not name the orphan %d:\n%s", orphan, said)
	}
	waitFor(t, "the orphan is gone", func() bool { return !runs(orphan, bin) })
	if !runs(owned.Process.Pid, bin) {
		t.Errorf("kill-strays.sh killed %d, which a running test owns:\n%s", owned.Process.Pid, said)
	}
}

// runs says whether pid is a live (not zombie) process of executable bin.
func runs(pid int, bin string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || strings.TrimSuffix(exe, " (deleted)") != bin {
		return false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	return !statusSays(f, "State:", "Z")
}

func statusSays(r io.Reader, key, prefix string) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			return strings.HasPrefix(strings.TrimSpace(v), prefix)
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
