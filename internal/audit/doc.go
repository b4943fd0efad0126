// Package audit keeps an append-only, tamper-evident log of security events:
// one JSON record a line, each carrying the SHA-256 hash of the record
// before it, so that changing, removing or reordering any record breaks the
// chain from there on. Verify walks a log and names the first broken record.
//
// A record says when (UTC), who (an operator, a charge point, the
// registry), from where (the source address), what (the action and its
// target), how it ended (the outcome) and the request id that ties it to a
// log line or an HTTP answer.
package audit
