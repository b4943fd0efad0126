package testutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sleeperArgs is a child that would outlive every test if nothing ended it;
// the odd number makes its command line its own.
var sleeperArgs = []string{"sleep", "3141"}

const parentRoleEnv = "EVSIM_TESTUTIL_PROCESS_PARENT"

// TestProcessParent is not a test of its own: TestChildDiesWhenItsTestIsKilled
// runs this test binary with parentRoleEnv set, as the parent test process
// that it then kills.
func TestProcessParent(t *testing.T) {
	if os.Getenv(parentRoleEnv) == "" {
		t.Skip("the parent process of TestChildDiesWhenItsTestIsKilled")
	}
	child := Command(t, sleeperArgs[0], sleeperArgs[1:]...)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child %d\n", child.Process.Pid)
	time.Sleep(time.Hour) // until the test kills this process
}

// TestChildDiesWhenItsTestIsKilled: a test binary killed with SIGKILL (as
// by a timeout or a CI runner) takes the processes it started along.
func TestChildDiesWhenItsTestIsKilled(t *testing.T) {
	parent := Command(t, os.Args[0], "-test.run=^TestProcessParent$", "-test.count=1")
	parent.Env = append(os.Environ(), parentRoleEnv+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	child := readChildPID(t, out)
	// Only the parent: the child has a process group of its own anyway.
	if err := syscall.Kill(parent.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	waitGone(t, child, "after its parent test process was killed")
}

// TestGrandchildrenDieWhenTheTestEnds: the end of a test kills the child's
// whole process group, not only the child.
func TestGrandchildrenDieWhenTheTestEnds(t *testing.T) {
	var grandchild int
	t.Run("start", func(t *testing.T) {
		sh := Command(t, "sh", "-c", strings.Join(sleeperArgs, " ")+" & echo child $!; wait")
		out, err := sh.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sh.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = sh.Wait() }()
		grandchild = readChildPID(t, out)
	})
	waitGone(t, grandchild, "after its test ended")
}

// TestChildOutlivesTheThreadThatStartedIt: Pdeathsig fires when the parent
// thread ends; a child started from a goroutine that locked its thread and
// then exited (so Go ended that thread) must keep running.
func TestChildOutlivesTheThreadThatStartedIt(t *testing.T) {
	child := Command(t, sleeperArgs[0], sleeperArgs[1:]...)
	tid := 0
	for tid == 0 {
		tids := make(chan int, 1)
		errs := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() == os.Getpid() {
				// Go never ends the main thread: try again on another.
				runtime.UnlockOSThread()
				tids <- 0
				return
			}
			tids <- syscall.Gettid()
			errs <- child.Start() // never unlocked: the thread ends with the goroutine
		}()
		if tid = <-tids; tid == 0 {
			continue
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = child.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for exists(fmt.Sprintf("/proc/self/task/%d", tid)) {
		if time.Now().After(deadline) {
			t.Fatalf("thread %d still there after 30 s", tid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The thread is gone; a Pdeathsig from it would have come by now, but
	// give the kernel a moment of slack before looking.
	stillRunning := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(stillRunning) {
		if !running(child.Process.Pid) {
			t.Fatal("the child died with the thread that started it")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readChildPID(t *testing.T, out io.Reader) int {
	t.Helper()
	pids := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "child "); ok {
				if pid, err := strconv.Atoi(rest); err == nil {
					pids <- pid
					return
				}
			}
		}
		close(pids)
	}()
	select {
	case pid, ok := <-pids:
		if !ok {
			t.Fatal("the parent said no child pid")
		}
		// Between fork and exec the child is not the sleeper yet.
		deadline := time.Now().Add(30 * time.Second)
		for !running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d is not the sleeper after 30 s", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return pid
	case <-time.After(60 * time.Second):
		t.Fatal("no child pid within 60 s")
		return 0
	}
}

// running says whether pid is our sleeper and not a zombie.
func running(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || string(cmdline) != strings.Join(sleeperArgs, "\x00")+"\x00" {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the first field after "(comm)"
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func waitGone(t *testing.T, pid int, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs 30 s %s", pid, when)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestFavouredCommandRunsAhead: as root, the program runs at nice -10.
func TestFavouredCommandRunsAhead(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may raise a priority")
	}
	out, err := FavouredCommand(t, "cat", "/proc/self/stat").Output()
	if err != nil {
		t.Fatal(err)
	}
	// nice is the 17th field after "(comm)" (field 19 of the line).
	fields := strings.Fields(string(out[strings.LastIndexByte(string(out), ')')+1:]))
	if len(fields) < 17 || fields[16] != "-10" {
		t.Errorf("nice of the program is %v, want -10 (stat %q)", fields[min(16, len(fields)-1)], out)
	}
}
