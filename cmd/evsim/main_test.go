package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBadFlagExitsTwoNamingTheFlag runs the real binary, as a script would.
func TestBadFlagExitsTwoNamingTheFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := t.TempDir() + "/evsim"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cases := map[string][]string{
		"--cps":        {"--cps", "many"},
		"--panel":      {"--panel", "3d"},
		"--log-format": {"--log-format", "xml"},
	}
	for flagName, args := range cases {
		cmd := exec.Command(bin, args...)
		cmd.Env = os.Environ()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Errorf("%v: want exit 2, got %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], flagName) {
			t.Errorf("%v: want one line naming %s, got %q", args, flagName, stderr.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) (string, bool) { return "", false }, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
