package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Log appends records to one file. Safe for concurrent use: appends are
// serialised, because each record needs the hash of the one before.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
	sync bool
	seq  uint64
	last string
	now  func() time.Time
}

// Options tune a Log.
type Options struct {
	// Sync flushes every record to disk before Append returns (fsync).
	// Default false: the record is in the kernel's cache, safe from a
	// process crash but not from a power loss.
	Sync bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Open opens (or creates) the log at path and continues its chain from the
// last record. It does not verify the chain: call VerifyFile for that.
func Open(path string, o Options) (*Log, error) {
	l := &Log{path: path, sync: o.Sync, now: o.Now, last: genesis}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.readTail(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l.f = f
	return l, nil
}

// readTail finds the last complete record to continue the chain from.
func (l *Log) readTail() error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	sc := newScanner(f)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Hash != "" {
			l.seq, l.last = r.Seq, r.Hash
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// Path is the file the log writes.
func (l *Log) Path() string { return l.path }

// Append records e and returns the record as written.
func (l *Log) Append(e Event) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Record{Seq: l.seq + 1, Time: l.now().UTC().Format(time.RFC3339Nano), Event: e, Prev: l.last}
	h, err := computeHash(r)
	if err != nil {
		return Record{}, err
	}
	r.Hash = h
	line, err := json.Marshal(r)
	if err != nil {
		return Record{}, fmt.Errorf("encode audit record: %w", err)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return Record{}, fmt.Errorf("append audit record: %w", err)
	}
	if l.sync {
		if err := l.f.Sync(); err != nil {
			return Record{}, fmt.Errorf("sync audit log: %w", err)
		}
	}
	l.seq, l.last = r.Seq, r.Hash
	return r, nil
}

// Read returns up to limit records with Seq > after, oldest first.
func (l *Log) Read(after uint64, limit int) ([]Record, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	var out []Record
	sc := newScanner(f)
	for sc.Scan() && len(out) < limit {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Seq <= after {
			continue
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// maxLine bounds one record; a longer line is a broken record.
const maxLine = 64 << 10

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	return sc
}
