package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// rssKB is the resident memory of a process, from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc to measure memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// TestStreamCrowdIsBoundedAndItsMemoryReturns opens 600 live streams on a
// real evsim at its default limit of 500: 100 are refused with 503 and
// Retry-After, the others get their snapshot. When they all leave, the
// process's memory returns to within 20% of what it was before they came.
func TestStreamCrowdIsBoundedAndItsMemoryReturns(t *testing.T) {
	const crowd, limit = 600, 500
	web := testutil.FreeAddr(t)
	b := startEvsim(t, "--embedded-broker", "127.0.0.1:0", "--db", ":memory:", "--panel", "off",
		"--http", web, "--cps", "20", "--drivers", "10")
	pid := b.cmd.Process.Pid

	// The base: the process's size once it has settled (its heap grows
	// until the first collections, then stays).
	deadline := time.Now().Add(150 * time.Second) // a loaded machine settles slowly
	for len(b.stderr.Lines("All 20 charge points registered")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the network did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	base := settledRSS(t, pid, deadline)

	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	var served, refused, failed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	for range crowd {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+web+"/api/stream", nil)
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
				refused.Add(1)
				return
			}
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					failed.Add(1)
					return
				}
				if line == "event: snapshot\n" {
					break
				}
			}
			served.Add(1)
			<-ctx.Done()
		}()
	}
	for served.Load()+refused.Load()+failed.Load() < crowd {
		if time.Now().After(deadline) {
			t.Fatalf("at the deadline: %d served, %d refused, %d failed of %d", served.Load(), refused.Load(), failed.Load(), crowd)
		}
		time.Sleep(100 * time.Millisecond)
	}
	peak := rssKB(t, pid)
	if served.Load() != limit || refused.Load() != crowd-limit || failed.Load() != 0 {
		t.Errorf("%d served, %d refused with 503 + Retry-After, %d failed; want %d, %d, 0",
			served.Load(), refused.Load(), failed.Load(), limit, crowd-limit)
	}
	leave()
	wg.Wait()

	// After: the least the process holds in the 20 s after the crowd left.
	after, until := peak, time.Now().Add(20*time.Second)
	for after > base*12/10 && time.Now().Before(until) {
		time.Sleep(250 * time.Millisecond)
		after = min(after, rssKB(t, pid))
	}
	t.Logf("RSS with %d streams: base %d kB, peak %d kB, after %d kB (%+.0f%%)", limit, base, peak, after, 100*float64(after-base)/float64(base))
	if after > base*12/10 {
		t.Errorf("RSS after the crowd left is %d kB, more than 20%% over its base of %d kB (peak %d kB)", after, base, peak)
	}
}

// settledRSS waits until the process's RSS grows less than 3% in 6 s, and
// returns it.
func settledRSS(t *testing.T, pid int, deadline time.Time) int {
	t.Helper()
	var samples []int
	for {
		samples = append(samples, rssKB(t, pid))
		if n := len(samples); n > 6 && samples[n-1] <= samples[n-7]*103/100 {
			return samples[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process's memory never settled: %v kB", samples)
		}
		time.Sleep(time.Second)
	}
}
