package logging

import "github.com/sirupsen/logrus"

// Lazy is an actor's log entry (its component and one id field), made for
// each line instead of kept. Tens of thousands of charge points and drivers
// each kept a ready entry and its field maps (about 1 KiB each) for the few
// lines they write; a line now costs that much garbage once. Check Enabled
// before a line on a hot path.
type Lazy struct {
	logger logrus.FieldLogger
	prefix string // the component is prefix + value, e.g. "Driver " + "alice"
	key    string // the id field, e.g. "driver_id"
	value  string
}

// NewLazy returns the entry of component prefix+value with the field key=value.
func NewLazy(l logrus.FieldLogger, prefix, key, value string) Lazy {
	return Lazy{logger: l, prefix: prefix, key: key, value: value}
}

// Entry makes the log entry for one line.
func (l Lazy) Entry() *logrus.Entry {
	if lg, ok := l.logger.(*logrus.Logger); ok {
		// Made directly: Logger.WithFields takes an entry from its pool,
		// copies the fields into a new one and pools the first, and the
		// pool keeps what a burst of lines left (about 13 MB at the start
		// of 10,000 charge points, for lines not even written).
		return &logrus.Entry{Logger: lg, Data: logrus.Fields{ComponentKey: l.prefix + l.value, l.key: l.value}}
	}
	return l.logger.WithFields(logrus.Fields{ComponentKey: l.prefix + l.value, l.key: l.value})
}

// Enabled says whether lines at level are written, without making an entry.
func (l Lazy) Enabled(level logrus.Level) bool {
	switch lg := l.logger.(type) {
	case *logrus.Logger:
		return lg.IsLevelEnabled(level)
	case *logrus.Entry:
		return lg.Logger.IsLevelEnabled(level)
	}
	return true
}
