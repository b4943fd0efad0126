package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBroken is wrapped by every *BrokenError.
var ErrBroken = errors.New("audit chain broken")

// BrokenError names the first record that does not hold.
type BrokenError struct {
	Line   int    // 1-based line of the file
	Seq    uint64 // the sequence the record should have had
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at line %d (record %d): %s", e.Line, e.Seq, e.Reason)
}

func (e *BrokenError) Unwrap() error { return ErrBroken }

// Verify walks the records of r and returns how many hold. The first record
// that does not (undecodable, out of sequence, not chained to the one
// before, or not matching its own hash) ends the walk with a *BrokenError.
func Verify(r io.Reader) (int, error) {
	sc := newScanner(r)
	prev, n := genesis, 0
	for sc.Scan() {
		want := uint64(n + 1)
		broken := func(reason string) (int, error) {
			return n, &BrokenError{Line: n + 1, Seq: want, Reason: reason}
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return broken("not a record: " + err.Error())
		}
		if rec.Seq != want {
			return broken(fmt.Sprintf("sequence %d where %d was due (a record removed or inserted)", rec.Seq, want))
		}
		if rec.Prev != prev {
			return broken("not chained to the record before")
		}
		h, err := computeHash(rec)
		if err != nil {
			return broken(err.Error())
		}
		if h != rec.Hash {
			return broken("its content does not match its hash (altered)")
		}
		// Byte for byte as written: no duplicate or extra keys that
		// decode to the hashed values but read differently.
		if again, err := json.Marshal(rec); err != nil || !bytes.Equal(again, sc.Bytes()) {
			return broken("its text is not as written (altered)")
		}
		prev, n = rec.Hash, n+1
	}
	if err := sc.Err(); err != nil {
		return n, &BrokenError{Line: n + 1, Seq: uint64(n + 1), Reason: "unreadable: " + err.Error()}
	}
	return n, nil
}

// VerifyFile is Verify over the file at path.
func VerifyFile(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return Verify(f)
}
