package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// listen serves each connection of a fresh port with serve, for tests.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
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
	return ln.Addr().String()
}

func httpServer(t *testing.T, tls bool) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// A Kafka that never answers gives its reason, in the progress line and in
// the one ERROR line, and the ERROR names the flag that waits longer.
func TestKafkaThatNeverAnswersSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addr  func(t *testing.T) string
		cause string
	}{
		{"nothing listens", freeAddr, "connection refused (nothing listens on that port)"},
		{"an HTTP server", func(t *testing.T) string { return httpServer(t, false) },
			"not a Kafka broker: an HTTP server answers on that port"},
		{"a TLS server", func(t *testing.T) string { return httpServer(t, true) },
			"TLS failure: the port speaks TLS, and evsim connects to Kafka without TLS"},
		{"a port that accepts and never answers", func(t *testing.T) string {
			return listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		}, "timed out: the port accepts connections but sends no Kafka answer within 1s"},
		{"a port that closes at once", func(t *testing.T) string { return listen(t, func(net.Conn) {}) },
			"the connection was closed without an answer"},
		{"a server that greets first", func(t *testing.T) string {
			return listen(t, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")); _, _ = io.Copy(io.Discard, c) })
		}, `not a Kafka broker: it answers "SSH-2.0-`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newTestLogger(t)
			cfg := Config{Brokers: []string{tc.addr(t)}, WaitAttempts: 6, WaitInterval: 100 * time.Millisecond, ProbeTimeout: time.Second}
			if err := WaitForKafka(context.Background(), cfg, logger); !errors.Is(err, ErrKafkaUnavailable) {
				t.Fatalf("WaitForKafka: %v, want ErrKafkaUnavailable", err)
			}
			progress := logs.Lines("| INFO | Bridge | Still waiting for Kafka (attempt 5/6): ")
			if len(progress) != 1 || !strings.Contains(progress[0], tc.cause) {
				t.Errorf("progress lines %q, want one that says %q", progress, tc.cause)
			}
			errs := logs.Lines("| ERROR |")
			want := fmt.Sprintf("| ERROR | Bridge | Kafka at %s did not become available after 6 attempts 0.1s apart: ", cfg.Brokers[0])
			hint := ". To wait longer, raise --kafka-wait-attempts (KAFKA_WAIT_MAX_ATTEMPTS); 0 waits forever"
			if len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], tc.cause) || !strings.HasSuffix(errs[0], hint) {
				t.Errorf("ERROR lines %q, want one with %q, the cause %q and %q", errs, want, tc.cause, hint)
			}
		})
	}
}

// Causes that a test cannot make on any machine, from the errors the network gives.
func TestProbeCausesFromDialErrors(t *testing.T) {
	notFound := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "kafka.example", Err: "no such host", IsNotFound: true}}
	if got, want := dialCause(notFound), "DNS name not found: kafka.example"; got != want {
		t.Errorf("dialCause(%v) = %q, want %q", notFound, got, want)
	}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "kafka.example", Err: "i/o timeout", IsTimeout: true}}
	if got := dialCause(timeout); !strings.HasPrefix(got, "DNS lookup of kafka.example failed") {
		t.Errorf("dialCause(%v) = %q, want a failed DNS lookup", timeout, got)
	}
}
