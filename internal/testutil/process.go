package testutil

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// Cmd is an exec.Cmd whose process (and every process it starts) does not
// outlive the test that made it:
//
//   - it runs in a process group of its own, which gets SIGKILL when the
//     test ends (t.Cleanup), so grandchildren such as `sh -c 'sleep ...'` go
//     too;
//   - on Linux it asks the kernel for SIGKILL when its parent dies
//     (Pdeathsig), so a test binary killed by a timeout, Ctrl-C or kill -9
//     takes it along. The kernel sends that signal when the parent *thread*
//     ends, not the process: Start, Run, Output and CombinedOutput therefore
//     fork from one goroutine that holds its OS thread for the life of the
//     test binary. Calling c.Cmd.Start() directly bypasses that; don't.
//
// Its Start, Run, Output and CombinedOutput shadow exec.Cmd's; every other
// field and method is exec.Cmd's own.
type Cmd struct{ *exec.Cmd }

// Command is exec.Command for a process that dies with the test.
func Command(t testing.TB, name string, args ...string) *Cmd {
	t.Helper()
	return bindToTest(t, exec.Command(name, args...))
}

// FavouredCommand is Command for a program whose test judges its timing
// (false alarms, how long a run takes): it runs at nice -10, ahead of
// whatever else loads the machine (other tests, builds), so that the test
// measures the program and not the neighbours. Only root may raise a
// priority; for anyone else it is Command.
func FavouredCommand(t testing.TB, name string, args ...string) *Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		return Command(t, name, args...)
	}
	if nice, err := exec.LookPath("nice"); err == nil {
		return Command(t, nice, append([]string{"-n", "-10", name}, args...)...)
	}
	return Command(t, name, args...)
}

// CommandContext is exec.CommandContext for a process that dies with the
// test; cancelling ctx kills its whole process group.
func CommandContext(t testing.TB, ctx context.Context, name string, args ...string) *Cmd {
	t.Helper()
	c := bindToTest(t, exec.CommandContext(ctx, name, args...))
	c.Cancel = func() error { return killGroup(c.Cmd) }
	return c
}

func bindToTest(t testing.TB, cmd *exec.Cmd) *Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	t.Cleanup(func() { _ = killGroup(cmd) })
	return &Cmd{cmd}
}

// killGroup sends SIGKILL to the process group the command leads (a no-op
// before it started or once the group is empty).
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Start starts the process from the spawner thread (see Cmd).
func (c *Cmd) Start() error { return onSpawnerThread(c.Cmd.Start) }

// Run starts the process and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the process and returns its standard output; as with
// exec.Cmd, an *exec.ExitError carries the standard error when Stderr was nil.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("testutil: Stdout already set")
	}
	var stdout, stderr bytes.Buffer
	c.Stdout = &stdout
	captureStderr := c.Stderr == nil
	if captureStderr {
		c.Stderr = &stderr
	}
	err := c.Run()
	var exit *exec.ExitError
	if captureStderr && errors.As(err, &exit) {
		exit.Stderr = stderr.Bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput runs the process and returns its standard output and
// standard error together.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil || c.Stderr != nil {
		return nil, errors.New("testutil: Stdout or Stderr already set")
	}
	var out SyncBuffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.Bytes(), err
}

// spawner is the one goroutine that forks every Cmd. It locks its OS thread
// and never returns, so that thread lives as long as the test binary and a
// child's Pdeathsig fires only when the binary itself dies. (Go ends a
// thread when a goroutine that locked it exits; any other thread could be
// such a one later.) It is package state because the thread must be one
// for the whole binary.
var spawner struct {
	once sync.Once
	work chan func()
}

func onSpawnerThread(start func() error) error {
	spawner.once.Do(func() {
		spawner.work = make(chan func())
		go func() {
			runtime.LockOSThread()
			for f := range spawner.work {
				f()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.work <- func() { done <- start() }
	return <-done
}
