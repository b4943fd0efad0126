package logging

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/sirupsen/logrus"
)

// saramaLogger adapts logrus to sarama.StdLogger, always at DEBUG: the bridge
// reports broker state to operators itself.
type saramaLogger struct{ entry *logrus.Entry }

func (s saramaLogger) Print(v ...any) { s.entry.Debug(strings.TrimRight(fmt.Sprint(v...), "\n")) }
func (s saramaLogger) Printf(format string, v ...any) {
	s.entry.Debugf(strings.TrimRight(format, "\n"), v...)
}
func (s saramaLogger) Println(v ...any) { s.entry.Debug(strings.TrimRight(fmt.Sprint(v...), "\n")) }

// RouteSarama points sarama's package-level Logger and DebugLogger at logger,
// at DEBUG. sarama keeps these as globals, so this is done once, by main.
func RouteSarama(logger logrus.FieldLogger) {
	l := saramaLogger{entry: Component(logger, "sarama")}
	sarama.Logger = l
	sarama.DebugLogger = l
}
