package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// TestLivePanelShowsWhatTheOperatorTypes types on evsim's terminal (a real
// pseudo-terminal through util-linux's script): the bottom row is a prompt
// that shows the keys as they are typed, "help" leaves the command list on
// screen frame after frame, and a command's outcome stays above the prompt.
func TestLivePanelShowsWhatTheOperatorTypes(t *testing.T) {
	bin := evsimBinary(t)
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no util-linux script to give evsim a terminal")
	}
	// A terminal of 50 rows, so the command list fits whole.
	command := "stty rows 50 cols 160; " + bin + " --duration 25s --db :memory: --embedded-broker 127.0.0.1:0 --supply-duration 3s --driver-pause 500ms"
	cmd := testutil.Command(t, scriptBin, "-qfec", command, "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	screen := &testutil.SyncBuffer{}
	cmd.Stdout = screen
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("the terminal showed (tail):\n%q", tail(screen.String(), 20))
		}
	})
	// waitFor polls the terminal until want appears after from (a byte offset).
	waitFor := func(what, want string, from int) int {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if s := screen.String(); len(s) > from {
				if i := strings.Index(s[from:], want); i >= 0 {
					return from + i
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal never showed %s (%q)", what, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	at := waitFor("the prompt", "evsim> ", 0)
	at = waitFor("the table", "CP         STATE", at)

	io.WriteString(keys, "sto")
	at = waitFor("the keys as they are typed", "evsim> sto", at)
	io.WriteString(keys, "p CP-002\n")
	at = waitFor("the outcome of the command above the prompt", "> stop CP-002: done", at)

	io.WriteString(keys, "help\n")
	at = waitFor("the command list", "Commands (type one and press Enter):", at)
	// Two frames later the command list is still there.
	at = waitFor("a new frame", "\x1b[H", at+1)
	at = waitFor("another frame", "\x1b[H", at+1)
	waitFor("the command list in a later frame", "kill-monitor CP", at)

	io.WriteString(keys, "frobnicate\n")
	waitFor("the error of an unknown command above the prompt", "> unknown command \"frobnicate\"", at)
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		t.Fatal("evsim did not end after its --duration")
	}
	if waitErr != nil {
		t.Errorf("evsim on a terminal: %v", waitErr)
	}
	if !strings.Contains(screen.String(), "Run summary") {
		t.Error("no summary at the end")
	}
}
