package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/evcharging/evsim/actors/registry"
)

// maxBody bounds a request body; every body of this API is far smaller.
const maxBody = 4 << 10

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID is the client's X-Request-Id when it is sane, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); requestIDPattern.MatchString(id) {
		return id
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// caller is who asks: the peer address as the server saw it (a forwarded
// header is not trusted), and the request id.
func caller(r *http.Request, who string) registry.Caller {
	return registry.Caller{Who: who, Source: r.RemoteAddr, RequestID: r.Header.Get("X-Request-Id")}
}

// decodeBody reads one JSON object of at most maxBody bytes with only
// known fields into v.
func decodeBody(body io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return fmt.Errorf("read the body: %w", err)
	}
	if len(b) > maxBody {
		return fmt.Errorf("the body is over %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not the expected JSON: %w", err)
	}
	if dec.More() {
		return errors.New("the body holds more than one JSON value")
	}
	return nil
}

type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, RequestID: r.Header.Get("X-Request-Id")})
}

// writeRegistryError maps the Registry's errors to statuses.
func writeRegistryError(w http.ResponseWriter, r *http.Request, err error) {
	var th *registry.ThrottledError
	switch {
	case errors.As(err, &th):
		secs := int(th.RetryAfter.Seconds() + 0.999)
		w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
		writeError(w, r, http.StatusTooManyRequests, th.Error())
	case errors.Is(err, registry.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, registry.ErrExists):
		writeError(w, r, http.StatusConflict, err.Error())
	case errors.Is(err, registry.ErrNotFound):
		writeError(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, registry.ErrBadCredential):
		writeError(w, r, http.StatusUnauthorized, err.Error())
	case errors.Is(err, registry.ErrRevoked):
		writeError(w, r, http.StatusForbidden, err.Error())
	default:
		writeError(w, r, http.StatusInternalServerError, "internal error")
	}
}

// bearer is the token of an "Authorization: Bearer T" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
