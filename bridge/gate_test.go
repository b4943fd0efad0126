package bridge

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// (b) A broker that never comes: one ERROR line and StateFailed within
// attempts x interval plus a little. (It needs no broker; the conformance suite
// runs it in each broker's run.)
func testGivesUpWithOneErrorLine(t *testing.T, _ *brokerUnderTest) {
	addr := freeAddr(t)
	cfg := testConfig(addr)
	cfg.WaitAttempts = 5
	start := time.Now()
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateFailed, 5*100*time.Millisecond+2*time.Second)
	took := time.Since(start)
	errs := tb.log.Lines("| ERROR |")
	want := "| ERROR | Bridge | Kafka at " + addr + " did not become available after 5 attempts 0.1s apart: connection refused"
	if len(errs) != 1 || !strings.Contains(errs[0], want) {
		t.Fatalf("ERROR lines %q, want exactly one with %q", errs, want)
	}
	if n := len(tb.log.Lines("Still waiting for Kafka (attempt 5/5)")); n != 0 {
		t.Errorf("the last attempt should end in the ERROR line, not a progress line")
	}
	t.Logf("gave up after %v", took)
}

// (c) A port that accepts connections but does not speak Kafka is not a broker.
func testOpenPortIsNotKafka(t *testing.T, _ *brokerUnderTest) {
	for name, serve := range map[string]func(net.Conn){
		"silent": func(c net.Conn) { _, _ = io.Copy(io.Discard, c) },
		"http": func(c net.Conn) {
			buf := make([]byte, 1024)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { defer c.Close(); serve(c) }()
				}
			}()
			cfg := testConfig(ln.Addr().String())
			cfg.WaitAttempts = 3
			cfg.ProbeTimeout = 300 * time.Millisecond
			tb := startBridge(t, cfg)
			tb.awaitState(t, StateFailed, 3*time.Second+2*time.Second)
			for _, s := range tb.states.seen() {
				if s == StateReady {
					t.Fatal("a port that does not speak Kafka was taken for ready")
				}
			}
			if len(tb.log.Lines("is ready")) != 0 {
				t.Fatal("logged ready")
			}
		})
	}
}
