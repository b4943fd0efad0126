package logging

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/sirupsen/logrus"
)

// saramaLogger adapts logrus to sarama.StdLogger, always at DEBUG: the bridge
// reports broker state to operators itself. Its target can be swapped while
// sarama's goroutines log through it.
type saramaLogger struct {
	mu    sync.Mutex // serialises installing it in sarama's globals
	entry atomic.Pointer[logrus.Entry]
}

func (s *saramaLogger) Print(v ...any) {
	s.entry.Load().Debug(strings.TrimRight(fmt.Sprint(v...), "\n"))
}
func (s *saramaLogger) Printf(format string, v ...any) {
	s.entry.Load().Debugf(strings.TrimRight(format, "\n"), v...)
}
func (s *saramaLogger) Println(v ...any) {
	line := strings.TrimRight(fmt.Sprint(v...), "\n")
	if line == "using proxy" {
		// The bridge's probe dials through sarama's proxy hook to see what
		// answers on a port; no proxy is in use, so the line would mislead.
		return
	}
	s.entry.Load().Debug(line)
}

// saramaRoute is what sarama's package-level loggers point at. It is
// package-level because they are: sarama reads them from its own
// goroutines, so they are written once and only the target changes after.
var saramaRoute = &saramaLogger{}

// RouteSarama points sarama's package-level Logger and DebugLogger at logger,
// at DEBUG. main does it once; a later call (tests that run several mains in
// one process) only swaps the target, so it never races with sarama's
// goroutines still logging for an earlier client.
func RouteSarama(logger logrus.FieldLogger) {
	r := saramaRoute
	r.entry.Store(Component(logger, "sarama"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if sarama.Logger != sarama.StdLogger(r) {
		sarama.Logger = r
	}
	if sarama.DebugLogger != sarama.StdLogger(r) {
		sarama.DebugLogger = r
	}
}
