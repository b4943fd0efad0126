// Package logging sets up evsim's house log format on logrus and routes the
// logs of our dependencies into it.
//
// A text line reads
//
//	2025-10-22 17:52:00 | INFO | Central | Registered new CP: CP-001
//
// followed by the entry's other fields as sorted key=value pairs. The third
// column is the entry's "component" field. JSON output carries the same
// fields.
//
// protoactor-go logs through log/slog and sarama through its own Logger
// variable; [SlogHandler] and [RouteSarama] send both into logrus at DEBUG so
// that an operator sees only our own lines while things are normal.
package logging
