package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Log {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "audit.log"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(Event{Who: "admin", Source: "127.0.0.1", Action: "register", Target: "CP-00" + string(rune('1'+i)), Outcome: OutcomeOK, RequestID: "r"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendChainsAndVerifies(t *testing.T) {
	l := openTemp(t)
	appendN(t, l, 3)
	n, err := VerifyFile(l.Path())
	if err != nil || n != 3 {
		t.Fatalf("verify = %d, %v; want 3, nil", n, err)
	}
	recs, err := l.Read(1, 10)
	if err != nil || len(recs) != 2 || recs[0].Seq != 2 || recs[0].Prev == genesis {
		t.Fatalf("read after 1 = %+v, %v", recs, err)
	}
}

func TestReopenContinuesTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 2)
	_ = l.Close()
	l, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := l.Append(Event{Who: "registry", Action: "start", Outcome: OutcomeOK})
	if err != nil || r.Seq != 3 {
		t.Fatalf("append after reopen = %+v, %v", r, err)
	}
	if n, err := VerifyFile(path); err != nil || n != 3 {
		t.Fatalf("verify = %d, %v", n, err)
	}
}

// Each kind of tampering is named at the first record it breaks.
func TestVerifyNamesTheFirstBrokenRecord(t *testing.T) {
	l := openTemp(t)
	appendN(t, l, 4)
	orig, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(orig), "\n"), "\n")
	cases := map[string]struct {
		edit     func([]string) []string
		wantLine int
	}{
		"altered field": {func(ls []string) []string {
			ls[1] = strings.Replace(ls[1], `"outcome":"ok"`, `"outcome":"denied"`, 1)
			return ls
		}, 2},
		"removed record": {func(ls []string) []string { return append(ls[:2:2], ls[3:]...) }, 3},
		"swapped records": {func(ls []string) []string {
			ls[1], ls[2] = ls[2], ls[1]
			return ls
		}, 2},
		"duplicate key": {func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], `"who":"admin"`, `"who":"mallory","who":"admin"`, 1)
			return ls
		}, 3},
		"truncated line": {func(ls []string) []string {
			ls[3] = ls[3][:20] + "\n"
			return ls
		}, 4},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ls := append([]string(nil), lines...)
			text := strings.Join(c.edit(ls), "")
			if !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			_, err := Verify(strings.NewReader(text))
			var b *BrokenError
			if !errors.As(err, &b) || !errors.Is(err, ErrBroken) {
				t.Fatalf("verify = %v; want a BrokenError", err)
			}
			if b.Line != c.wantLine {
				t.Fatalf("broken at line %d (%v); want line %d", b.Line, err, c.wantLine)
			}
		})
	}
}

func TestRecordTimesAreUTC(t *testing.T) {
	at := time.Date(2026, 11, 28, 7, 0, 0, 5, time.FixedZone("CET", 3600))
	l, err := Open(filepath.Join(t.TempDir(), "a.log"), Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := l.Append(Event{Action: "x"})
	if err != nil || r.Time != "2026-11-28T06:00:00.000000005Z" {
		t.Fatalf("time = %q, %v", r.Time, err)
	}
}

// FuzzVerify: any bytes, however malformed, give an answer, never a panic,
// and a log that verifies decodes to records that chain.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(filepath.Join(dir, "seed.log"), Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := l.Append(Event{Who: "admin", Action: "register", Target: "CP-001", Outcome: OutcomeOK}); err != nil {
			f.Fatal(err)
		}
	}
	_ = l.Close()
	seed, _ := os.ReadFile(filepath.Join(dir, "seed.log"))
	f.Add(seed)
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":1,"prev":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Verify(bytes.NewReader(data))
		if err != nil && !errors.Is(err, ErrBroken) {
			t.Fatalf("verify error %v is not ErrBroken", err)
		}
		if n < 0 {
			t.Fatal("negative count")
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "no-fsync"
		if sync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "audit.log"), Options{Sync: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := Event{Who: "cp:CP-001", Source: "10.0.0.7:51234", Action: "token.issue", Target: "CP-001", Outcome: OutcomeOK, RequestID: "3f2a9c1d"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Append(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
