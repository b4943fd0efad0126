package stall

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestSinceCountsRecordedAndOngoingStalls(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	m := newMeter(50*time.Millisecond, 50*time.Millisecond, clk.now)
	start := clk.t
	for range 10 { // on time: no stall
		clk.t = clk.t.Add(60 * time.Millisecond)
		m.wake(clk.t)
	}
	if got := m.Since(start); got != 0 {
		t.Fatalf("Since after punctual wake-ups = %v, want 0", got)
	}
	beforeStall := clk.t
	clk.t = clk.t.Add(2050 * time.Millisecond) // woke 2 s late
	m.wake(clk.t)
	if got := m.Since(beforeStall); got != 2*time.Second {
		t.Fatalf("Since across a 2 s stall = %v, want 2s", got)
	}
	if got := m.Since(clk.t.Add(-500 * time.Millisecond)); got != 500*time.Millisecond {
		t.Fatalf("Since the last 0.5 s of a 2 s stall = %v, want 500ms", got)
	}
	if got := m.Since(clk.t); got != 0 {
		t.Fatalf("Since after the stall = %v, want 0", got)
	}
	// A stall the meter has not woken from yet still counts.
	mark := clk.t
	clk.t = clk.t.Add(1050 * time.Millisecond)
	if got := m.Since(mark); got != time.Second {
		t.Fatalf("Since during an unrecorded stall = %v, want 1s", got)
	}
	if m.Total() != 2*time.Second {
		t.Fatalf("Total = %v, want 2s", m.Total())
	}
}

func TestNilMeterMeasuresNothing(t *testing.T) {
	var m *Meter
	if m.Since(time.Now().Add(-time.Hour)) != 0 || m.Total() != 0 {
		t.Fatal("a nil meter reported a stall")
	}
	m.Stop()
}

// TestMeterSeesTheProcessStopped stops this very process with SIGSTOP for
// 300 ms (a child process sends SIGCONT) and checks the meter saw it.
func TestMeterSeesTheProcessStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("stops the test process")
	}
	m := Start(0, 0)
	defer m.Stop()
	before := time.Now()
	pid := syscall.Getpid()
	// The waker: a process that sends SIGCONT after 300 ms.
	var attr syscall.ProcAttr
	attr.Env = []string{}
	child, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "sleep 0.3; kill -CONT " + strconv.Itoa(pid)}, &attr)
	if err != nil {
		t.Fatalf("start the waker: %v", err)
	}
	defer func() { _, _ = syscall.Wait4(child, nil, 0, nil) }()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Since(before) < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("the meter saw %v of a 300 ms stop", m.Since(before))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
