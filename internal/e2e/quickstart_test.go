package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// readmeEvnodeQuickStart returns the commands of the README's evnode quick
// start (the sh block under "One role per process: evnode").
func readmeEvnodeQuickStart(t *testing.T, readme string) []string {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "## One role per process: evnode")
	if i < 0 {
		t.Fatal("README: no section \"One role per process: evnode\"")
	}
	block := text[i:]
	start := strings.Index(block, "```sh\n")
	if start < 0 {
		t.Fatal("README: no sh block in the evnode section")
	}
	block = block[start+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		if c, _, _ := strings.Cut(line, "#"); strings.TrimSpace(c) != "" {
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	return cmds
}

var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// TestReadmeEvnodeQuickStartAfterEvsim runs the README's first command
// (evsim with its defaults, which leaves ./evsim-data/central.db with its
// generated secrets) and then the README's evnode quick start, as written,
// in the same directory with the built binaries. Only the fixed ports are
// swapped for free ones (a test never uses a fixed port) and the nodes find
// the broker through KAFKA_BOOTSTRAP. Before the fix evnode central opened
// evsim's database, refused `--secret demo` ("wrong secret"), the panel
// said "disconnected (no sign of life from its monitor)" and the monitor
// alternated "Cannot reach Central" / "reachable again".
func TestReadmeEvnodeQuickStartAfterEvsim(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the quick start, about half a minute")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeEvnodeQuickStart(t, filepath.Join(repo, "README.md"))
	if len(cmds) < 6 || cmds[0] != "go build -o bin/ ./cmd/..." {
		t.Fatalf("the README's evnode quick start changed; update this test: %q", cmds)
	}
	h := newHarness(t)
	work := h.dir // the user's directory: bin/, evsim-data/, evnode-data/
	build := testutil.Command(t, "go", "build", "-o", filepath.Join(work, "bin")+"/", "./cmd/...")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmds[0], err, out)
	}
	// The requests file the quick start names, at the same relative path.
	requests := filepath.Join(work, "internal", "sim", "requests", "alice.txt")
	if err := os.MkdirAll(filepath.Dir(requests), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repo, "internal", "sim", "requests", "alice.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(requests, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// The README's first command: `go run ./cmd/evsim`, stopped after a while.
	evsim := testutil.Command(t, filepath.Join(work, "bin", "evsim"), "--embedded-broker", freeAddr(t), "--panel", "off", "--duration", "5s")
	evsim.Dir, evsim.Env = work, baseEnv()
	if out, err := evsim.CombinedOutput(); err != nil {
		lines := strings.Split(string(out), "\n")
		t.Fatalf("evsim: %v\n%s", err, strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	if _, err := os.Stat(filepath.Join(work, "evsim-data", "central.db")); err != nil {
		t.Fatalf("evsim left no ./evsim-data/central.db: %v", err)
	}

	// The quick start, with free ports in place of the fixed ones.
	ports := map[string]string{}
	swap := func(cmd string) string {
		return loopbackAddr.ReplaceAllStringFunc(cmd, func(a string) string {
			if ports[a] == "" {
				ports[a] = freeAddr(t)
			}
			return ports[a]
		})
	}
	var brokers, httpAddr, gate string
	var oneShots []string // commands without '&': run once the network is up, each must exit 0
	for _, raw := range cmds[1:] {
		background := strings.HasSuffix(strings.TrimSpace(raw), "&")
		cmd := swap(strings.TrimSuffix(strings.TrimSpace(raw), "&"))
		if gateCmd, _, ok := strings.Cut(cmd, "&&"); ok {
			gate = strings.TrimSpace(gateCmd)
			continue
		}
		if !background {
			oneShots = append(oneShots, cmd)
			continue
		}
		args := strings.Fields(cmd)
		if args[0] != "bin/evnode" {
			t.Fatalf("unexpected command in the quick start: %q", raw)
		}
		role := args[1]
		switch role {
		case "broker":
			brokers = args[len(args)-1]
		case "central":
			for i, a := range args {
				if a == "--http" {
					httpAddr = args[i+1]
				}
			}
		}
		h.addBinary(role, filepath.Join(work, args[0]), []string{"KAFKA_BOOTSTRAP=" + brokers, "EVSIM_LOG_FORMAT=text"}, args[1:]...)
	}
	if brokers == "" || httpAddr == "" || gate == "" {
		t.Fatalf("the quick start lost its broker, --http or wait-kafka line: %q", cmds)
	}
	for _, name := range h.order {
		h.start(name)
	}
	gateArgs := strings.Fields(gate)
	wait := testutil.Command(t, filepath.Join(work, gateArgs[0]), gateArgs[1:]...)
	wait.Dir, wait.Env = work, baseEnv()
	if out, err := wait.CombinedOutput(); err != nil {
		h.fail("%s: %v\n%s", gate, err, out)
	}

	h.eventually(30*time.Second, "CP-001 registered and in service on the panel", func() (bool, string) {
		cp := chargePoints(httpAddr)["CP-001"]
		return cp.State == "ACTIVATED" || cp.State == "SUPPLYING", cp.State + " " + cp.Reason
	})
	for _, cmd := range oneShots {
		args := strings.Fields(cmd)
		one := testutil.Command(t, filepath.Join(work, args[0]), args[1:]...)
		one.Dir, one.Env = work, baseEnv()
		if out, err := one.CombinedOutput(); err != nil {
			h.fail("%s: %v\n%s", cmd, err, out)
		}
	}
	h.eventually(60*time.Second, "a ticket for alice at CP-001", func() (bool, string) {
		return strings.Contains(h.log("driver", 0), "Ticket for alice at CP-001"), ""
	})
	if _, err := os.Stat(filepath.Join(work, "evnode-data", "central.db")); err != nil {
		t.Errorf("evnode central's database is not ./evnode-data/central.db: %v", err)
	}
	mon := h.log("monitor", 0)
	for _, line := range []string{"rejected", "Cannot reach Central", "reachable again"} {
		if strings.Contains(mon, line) {
			t.Errorf("the monitor logged %q:\n%s", line, mon)
		}
	}
}
