package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/internal/testutil"
)

type syncBuffer = testutil.SyncBuffer

func newBufferLogger(t *testing.T, level, format string) (*logrus.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	off := false
	l, err := New(Options{Level: level, Format: format, Out: buf, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
}

func TestHouseFormatExactly(t *testing.T) {
	l, buf := newBufferLogger(t, "info", "text")
	at := time.Date(2025, 10, 22, 17, 52, 0, 0, time.Local)
	Component(l, "Central").WithTime(at).Info("Registered new CP: CP-001")
	want := "2025-10-22 17:52:00 | INFO | Central | Registered new CP: CP-001\n"
	if got := buf.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestHouseFormatSortsFieldsAndQuotesWhenNeeded(t *testing.T) {
	l, buf := newBufferLogger(t, "info", "text")
	at := time.Date(2025, 10, 22, 17, 52, 0, 0, time.Local)
	Component(l, "Bridge").WithTime(at).WithFields(logrus.Fields{
		"topic": "cp.telemetry", "partition": 3, "offset": 42, "error": errors.New("bad tag"),
	}).Warn("Skipped a record that does not decode")
	want := `2025-10-22 17:52:00 | WARN | Bridge | Skipped a record that does not decode error="bad tag" offset=42 partition=3 topic=cp.telemetry` + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestJSONFormatCarriesTheSameFields(t *testing.T) {
	l, buf := newBufferLogger(t, "info", "json")
	Component(l, "Central").WithField("cp_id", "CP-001").Info("Registered new CP: CP-001")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf)
	}
	if got["component"] != "Central" || got["cp_id"] != "CP-001" || got["level"] != "info" || got["msg"] != "Registered new CP: CP-001" {
		t.Fatalf("unexpected JSON line %v", got)
	}
}

func TestColourOnlyWhenAsked(t *testing.T) {
	var buf bytes.Buffer
	on := true
	l, _ := New(Options{Out: &buf, Color: &on})
	l.Warn("x")
	if !strings.Contains(buf.String(), "\x1b[33mWARN\x1b[0m") {
		t.Fatalf("no colour in %q", buf.String())
	}
	buf.Reset()
	l, _ = New(Options{Out: &buf}) // a buffer is not a terminal
	l.Warn("x")
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("colour written to a non-terminal: %q", buf.String())
	}
}

func TestBadLevelAndFormatAreRejected(t *testing.T) {
	if _, err := New(Options{Level: "loud"}); err == nil {
		t.Error("level loud accepted")
	}
	if _, err := New(Options{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

var houseLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (TRACE|DEBUG|INFO|WARN|ERROR) \| [A-Za-z0-9._-]+ \| .+$`)

func assertHouseLines(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no lines")
	}
	for _, line := range lines {
		if !houseLine.MatchString(line) {
			t.Errorf("not in the house format: %q", line)
		}
		if strings.Contains(line, "\x1b[") {
			t.Errorf("colour codes in %q", line)
		}
	}
}

func TestProtoactorLogsComeOutInTheHouseFormatAtDebug(t *testing.T) {
	l, buf := newBufferLogger(t, "debug", "text")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return NewSlogLogger(l, "protoactor")
	}))
	defer system.Shutdown()
	// A panicking actor makes protoactor log "[ACTOR] Recovering".
	pid := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(string); ok {
			panic("boom")
		}
	}))
	system.Root.Send(pid, "explode")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "Recovering") {
		if time.Now().After(deadline) {
			t.Fatalf("protoactor never logged its recovery; got:\n%s", buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := buf.String()
	assertHouseLines(t, out)
	if !strings.Contains(out, "| DEBUG | protoactor | [ACTOR] Recovering") {
		t.Fatalf("recovery line not at DEBUG under protoactor:\n%s", out)
	}
}

func TestProtoactorChatterIsHiddenAtInfo(t *testing.T) {
	l, buf := newBufferLogger(t, "info", "text")
	h := NewSlogHandler(l, "protoactor")
	logger := slog.New(h)
	logger.Info("actor system started", slog.String("id", "x"))
	logger.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:1"))
	if buf.Len() != 0 {
		t.Fatalf("expected no lines at info, got %q", buf)
	}
	logger.Error("EndpointReader failed to deserialize", slog.Any("error", errors.New("x")))
	assertHouseLines(t, buf.String())
	if !strings.Contains(buf.String(), "| WARN | protoactor | EndpointReader failed to deserialize error=x") {
		t.Fatalf("a decode failure must be a WARN: %q", buf)
	}
}

func TestSaramaLogsComeOutInTheHouseFormatAtDebug(t *testing.T) {
	l, buf := newBufferLogger(t, "debug", "text")
	oldLogger, oldDebug := sarama.Logger, sarama.DebugLogger
	t.Cleanup(func() { sarama.Logger, sarama.DebugLogger = oldLogger, oldDebug })
	RouteSarama(l)
	// A real sarama call that logs: a client to a port where nothing listens.
	cfg := sarama.NewConfig()
	cfg.Metadata.Retry.Max = 0
	cfg.Net.DialTimeout = 200 * time.Millisecond
	if _, err := sarama.NewClient([]string{"127.0.0.1:1"}, cfg); err == nil {
		t.Fatal("connected to port 1?")
	}
	out := buf.String()
	assertHouseLines(t, out)
	if !strings.Contains(out, "| DEBUG | sarama | ") {
		t.Fatalf("no sarama line at DEBUG:\n%s", out)
	}
	buf.Reset()
	sarama.Logger.Println("using proxy") // what the bridge's probe makes sarama say; no proxy is in use
	if buf.Len() != 0 {
		t.Fatalf("a misleading line: %q", buf)
	}

	l.SetLevel(logrus.InfoLevel)
	buf.Reset()
	sarama.Logger.Printf("client/metadata fetching metadata for all topics from broker %s\n", "x")
	if buf.Len() != 0 {
		t.Fatalf("sarama line shown at info: %q", buf)
	}
}
