package logging

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/sirupsen/logrus"
)

// ComponentKey is the field that names who logs: it fills the third column.
const ComponentKey = "component"

// TimeLayout is the house timestamp layout.
const TimeLayout = "2006-01-02 15:04:05"

// Formats accepted by --log-format.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Options configures a logger.
type Options struct {
	// Level is one of trace, debug, info, warn, error. Default info.
	Level string
	// Format is "text" (house format) or "json". Default text.
	Format string
	// Out is where lines go. Default os.Stderr.
	Out io.Writer
	// Color forces colour on (true) or off (false); nil means colour only on a terminal.
	Color *bool
}

// New builds a logrus logger from opts.
func New(opts Options) (*logrus.Logger, error) {
	level, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, err
	}
	out := opts.Out
	if out == nil {
		out = os.Stderr
	}
	logger := logrus.New()
	logger.SetOutput(out)
	logger.SetLevel(level)
	switch opts.Format {
	case "", FormatText:
		color := isTerminal(out)
		if opts.Color != nil {
			color = *opts.Color
		}
		logger.SetFormatter(&HouseFormatter{Color: color})
	case FormatJSON:
		logger.SetFormatter(&logrus.JSONFormatter{TimestampFormat: TimeLayout})
	default:
		return nil, fmt.Errorf("unknown log format %q (want text or json)", opts.Format)
	}
	return logger, nil
}

// ParseLevel accepts trace, debug, info, warn (or warning) and error; empty means info.
func ParseLevel(s string) (logrus.Level, error) {
	switch strings.ToLower(s) {
	case "":
		return logrus.InfoLevel, nil
	case "trace", "debug", "info", "warn", "warning", "error":
		return logrus.ParseLevel(s)
	}
	return 0, fmt.Errorf("unknown log level %q (want trace, debug, info, warn or error)", s)
}

// Component returns an entry whose lines carry name in the component column.
func Component(l logrus.FieldLogger, name string) *logrus.Entry {
	return l.WithField(ComponentKey, name)
}

// Discard returns a logger that writes nothing, for tests that do not read logs.
func Discard() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// HouseFormatter writes "TIME | LEVEL | Component | message key=value ...".
type HouseFormatter struct {
	// Color paints the level column with ANSI colours.
	Color bool
}

var levelNames = map[logrus.Level]string{
	logrus.TraceLevel: "TRACE",
	logrus.DebugLevel: "DEBUG",
	logrus.InfoLevel:  "INFO",
	logrus.WarnLevel:  "WARN",
	logrus.ErrorLevel: "ERROR",
	logrus.FatalLevel: "FATAL",
	logrus.PanicLevel: "PANIC",
}

var levelColors = map[logrus.Level]string{
	logrus.TraceLevel: "\x1b[90m",
	logrus.DebugLevel: "\x1b[90m",
	logrus.InfoLevel:  "\x1b[32m",
	logrus.WarnLevel:  "\x1b[33m",
	logrus.ErrorLevel: "\x1b[31m",
	logrus.FatalLevel: "\x1b[31m",
	logrus.PanicLevel: "\x1b[31m",
}

// Format implements logrus.Formatter.
func (f *HouseFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(e.Time.Format(TimeLayout))
	b.WriteString(" | ")
	if f.Color {
		b.WriteString(levelColors[e.Level])
		b.WriteString(levelNames[e.Level])
		b.WriteString("\x1b[0m")
	} else {
		b.WriteString(levelNames[e.Level])
	}
	b.WriteString(" | ")
	component, _ := e.Data[ComponentKey].(string)
	if component == "" {
		component = "evsim"
	}
	b.WriteString(component)
	b.WriteString(" | ")
	b.WriteString(strings.TrimRight(e.Message, "\n"))

	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		if k != ComponentKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte(' ')
		b.WriteString(k)
		b.WriteByte('=')
		writeValue(&b, e.Data[k])
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// writeValue quotes a value only when it would otherwise be ambiguous.
func writeValue(b *bytes.Buffer, v any) {
	var s string
	switch x := v.(type) {
	case error:
		s = x.Error()
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprint(v)
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		fmt.Fprintf(b, "%q", s)
		return
	}
	b.WriteString(s)
}
