package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/web"
)

// Operator actions and wrong tokens are audited; /api/audit needs the
// operator token and says whether the chain holds.
func TestOperatorActionsAreAuditedAndReadableWithTheToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	slot := &web.AuditSlot{}
	slot.Set(log)
	r := newRig(t, 2, func(o *web.Options) { o.Audit = slot })
	auth := "Bearer " + testToken
	r.do(t, http.MethodPost, "/api/chargepoints/CP-001/stop", auth)
	r.do(t, http.MethodPost, "/api/chargepoints/CP-002/ko", auth)
	r.do(t, http.MethodPost, "/api/resume-all", "Bearer wrong")
	for _, a := range []string{"", "Bearer wrong"} {
		if code, _, _ := r.do(t, http.MethodGet, "/api/audit", a); code != http.StatusUnauthorized {
			t.Fatalf("GET /api/audit with %q: %d, want 401", a, code)
		}
	}
	code, _, body := r.do(t, http.MethodGet, "/api/audit", auth)
	if code != http.StatusOK {
		t.Fatalf("GET /api/audit: %d %s", code, body)
	}
	for _, want := range []string{`"action":"stop","target":"CP-001","outcome":"ok"`, `"action":"ko","target":"CP-002"`, `"action":"operator.auth.fail"`, `"intact":true`, `"who":"operator","source":"127.0.0.1:`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit lacks %s:\n%s", want, body)
		}
	}
	_, _, body = r.do(t, http.MethodGet, "/api/audit?tail=1", auth)
	if strings.Count(string(body), `"seq"`) != 1 || !strings.Contains(string(body), `"seq":4`) { // the last: a wrong token on GET /api/audit
		t.Fatalf("tail=1 is not the newest record: %s", body)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"target":"CP-001"`, `"target":"CP-009"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, body = r.do(t, http.MethodGet, "/api/audit", auth)
	if !strings.Contains(string(body), `"intact":false`) || !strings.Contains(string(body), "line 1") {
		t.Fatalf("a tampered log is not named: %s", body)
	}
}
