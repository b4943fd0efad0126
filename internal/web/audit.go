package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/evcharging/evsim/internal/audit"
)

// Audit: every operator action (and wrong operator token) is appended to
// Options.Audit with who, where from, what, on which charge point, how it
// ended and a request id (the client's X-Request-Id when sane, echoed);
// GET /api/audit (operator token) reads it back with the chain's verdict.

var auditRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// AuditSlot holds the audit log, which a process may open after its web
// server starts. Safe for concurrent use.
type AuditSlot struct {
	l atomic.Pointer[audit.Log]
}

// Set hands over the log (nil: none).
func (s *AuditSlot) Set(l *audit.Log) {
	if s != nil {
		s.l.Store(l)
	}
}

// Log is the log, or nil.
func (s *AuditSlot) Log() *audit.Log {
	if s == nil {
		return nil
	}
	return s.l.Load()
}

func (s *Server) auditAction(r *http.Request, action, target, outcome, detail string) {
	log := s.opts.Audit.Log()
	if log == nil {
		return
	}
	id := r.Header.Get("X-Request-Id")
	if !auditRequestID.MatchString(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	_, err := log.Append(audit.Event{Who: "operator", Source: r.RemoteAddr, Action: action, Target: target,
		Outcome: outcome, RequestID: id, Detail: detail})
	if err != nil {
		s.log.WithError(err).Error("Cannot write the audit log")
	}
}

// AuditPage is GET /api/audit's answer.
type AuditPage struct {
	Records []audit.Record `json:"records"`
	// Next is the seq to ask after (?after=) for the following page; 0 at the end.
	Next uint64 `json:"next,omitempty"`
	// Intact is whether the whole chain verifies; Broken names the first
	// broken record when it does not.
	Intact bool   `json:"intact"`
	Broken string `json:"broken,omitempty"`
}

// auditPageSize bounds one page of /api/audit.
const auditPageSize = 500

// listAudit answers GET /api/audit[?after=SEQ | ?tail=N]: a page from
// after SEQ, oldest first, or the newest N records (at most a page).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	log := s.opts.Audit.Log()
	if log == nil {
		writeError(w, http.StatusNotFound, "this Central keeps no audit log")
		return
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after must be a record's seq")
			return
		}
		after = n
	}
	limit := auditPageSize + 1
	tail := 0
	if v := r.URL.Query().Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auditPageSize {
			writeError(w, http.StatusBadRequest, "tail must be a whole number from 1 to 500")
			return
		}
		tail, limit = n, int(^uint(0)>>1)
	}
	recs, err := log.Read(after, limit)
	if tail > 0 && len(recs) > tail {
		recs = recs[len(recs)-tail:]
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot read the audit log")
		return
	}
	page := AuditPage{Records: recs, Intact: true}
	if len(recs) > auditPageSize {
		page.Records, page.Next = recs[:auditPageSize], recs[auditPageSize-1].Seq
	}
	if page.Records == nil {
		page.Records = []audit.Record{}
	}
	if _, err := audit.VerifyFile(log.Path()); err != nil {
		page.Intact, page.Broken = false, err.Error()
	}
	writeJSON(w, http.StatusOK, page)
}
