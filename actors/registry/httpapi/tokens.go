package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/evcharging/evsim/internal/audit"
)

type tokenRequest struct {
	ID         string `json:"id"`
	Credential string `json:"credential"`
}

type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeBody(r.Body, &req); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	tok, err := s.opts.Registry.IssueToken(caller(r, "cp:"+req.ID), req.ID, req.Credential)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{Token: tok.Token, ExpiresAt: tok.ExpiresAt.UTC()})
}

type keyView struct {
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	// PublicKey is the raw Ed25519 key, base64.
	PublicKey string `json:"public_key"`
}

// keys answers the public key that verifies tokens: not a secret.
func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	k := s.opts.Registry.PublicKey()
	writeJSON(w, http.StatusOK, map[string][]keyView{"keys": {{
		KeyID: s.opts.Registry.KeyID(), Algorithm: "EdDSA", PublicKey: base64.StdEncoding.EncodeToString(k),
	}}})
}

type auditResponse struct {
	Records []audit.Record `json:"records"`
	// Next is the seq to ask after for the following page, 0 at the end.
	Next uint64 `json:"next,omitempty"`
}

func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "after must be a record's seq")
			return
		}
		after = n
	}
	recs, err := s.opts.Audit.Read(after, maxPageSize+1)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "cannot read the audit log")
		return
	}
	out := auditResponse{Records: recs}
	if len(recs) > maxPageSize {
		out.Records = recs[:maxPageSize]
		out.Next = recs[maxPageSize-1].Seq
	}
	if out.Records == nil {
		out.Records = []audit.Record{}
	}
	writeJSON(w, http.StatusOK, out)
}

type verifyResponse struct {
	OK      bool   `json:"ok"`
	Records int    `json:"records"`
	Broken  string `json:"broken,omitempty"`
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	n, err := audit.VerifyFile(s.opts.Audit.Path())
	out := verifyResponse{OK: err == nil, Records: n}
	if err != nil {
		out.Broken = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}
