package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
)

// SlogHandler is a slog.Handler that writes into logrus. It is how
// protoactor-go's own logs (actor started, dead letters, "[ACTOR] Recovering",
// remote endpoint chatter) reach the house format. Every one of them goes to
// DEBUG: our actors log the events an operator needs (a restart, a peer that
// cannot be reached) once, in our words. Raise the level with Promote for
// messages that would mean a defect in our code.
type SlogHandler struct {
	entry *logrus.Entry
	attrs []slog.Attr
	group string
	// Promote lists message prefixes that are logged at WARN instead of DEBUG.
	Promote []string
}

// NewSlogHandler routes slog records into logger under the given component.
func NewSlogHandler(logger logrus.FieldLogger, component string) *SlogHandler {
	return &SlogHandler{
		entry: Component(logger, component),
		// A message we could not decode or route points at a bug of ours, not at the weather.
		Promote: []string{
			"EndpointReader failed to deserialize",
			"EndpointWriter failed to serialize",
		},
	}
}

// NewSlogLogger is a convenience for actor.WithLoggerFactory.
func NewSlogLogger(logger logrus.FieldLogger, component string) *slog.Logger {
	return slog.New(NewSlogHandler(logger, component))
}

// Enabled implements slog.Handler.
func (h *SlogHandler) Enabled(_ context.Context, level slog.Level) bool {
	l := h.entry.Logger
	if level >= slog.LevelWarn {
		return l.IsLevelEnabled(logrus.WarnLevel)
	}
	return l.IsLevelEnabled(logrus.DebugLevel)
}

// Handle implements slog.Handler.
func (h *SlogHandler) Handle(_ context.Context, r slog.Record) error {
	level := logrus.DebugLevel
	if r.Level >= slog.LevelWarn && h.promoted(r.Message) {
		level = logrus.WarnLevel
	}
	if !h.entry.Logger.IsLevelEnabled(level) {
		return nil
	}
	fields := logrus.Fields{}
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fields[key] = attrValue(a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.entry.WithFields(fields).Log(level, r.Message)
	return nil
}

func (h *SlogHandler) promoted(msg string) bool {
	for _, p := range h.Promote {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// WithAttrs implements slog.Handler.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func attrValue(v slog.Value) any {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindAny:
		if m, ok := v.Any().(proto.Message); ok {
			return redactProto(m) // a charge point's key never reaches a log
		}
		if s, ok := v.Any().(fmt.Stringer); ok {
			return s.String()
		}
		return fmt.Sprint(v.Any())
	default:
		return v.String()
	}
}
