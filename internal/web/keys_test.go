package web_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/web"
)

// The key actions on the real Central: revoke-key shows REVOKED (red),
// rotate-key issues a new key and the charge point serves again; both need
// the operator token and are audited.
func TestKeyActionsRevokeAndRotateAreAudited(t *testing.T) {
	n, real := realNetwork(t, func(c *network.Config) { c.Keys = seal.NewKeyring() }, "CP-001", "CP-002")
	log, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	slot := &web.AuditSlot{}
	slot.Set(log)
	r := newRig(t, 0, func(o *web.Options) { o.Panel, o.Bridge, o.Run, o.Audit = n.Panel(), real.bridge, real.run, slot })
	state := func(id string) string { return r.chargePoint(t, id).State }
	eventually(t, "CP-001 ACTIVATED", func() bool { return state("CP-001") == "ACTIVATED" })

	if code, _, _ := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/revoke-key", ""); code != http.StatusUnauthorized {
		t.Fatalf("revoke-key without the token: %d, want 401", code)
	}
	auth := "Bearer " + testToken
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/revoke-key", auth); code != http.StatusOK {
		t.Fatalf("revoke-key: %d %s", code, body)
	}
	cp := r.chargePoint(t, "CP-001")
	if cp.State != "REVOKED" || cp.Colour != "red" || !strings.Contains(cp.Reason, "revoked") {
		t.Fatalf("after revoke-key: %+v", cp)
	}
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/revoke-key", auth); code != http.StatusConflict {
		t.Fatalf("revoking again: %d %s, want 409", code, body)
	}
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-404/rotate-key", auth); code != http.StatusNotFound {
		t.Fatalf("rotate-key of an unknown charge point: %d %s", code, body)
	}
	if state("CP-002") != "ACTIVATED" {
		t.Fatalf("CP-002 is %s after CP-001's revocation", state("CP-002"))
	}
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/rotate-key", auth); code != http.StatusOK {
		t.Fatalf("rotate-key: %d %s", code, body)
	}
	eventually(t, "CP-001 ACTIVATED with its new key", func() bool { return state("CP-001") == "ACTIVATED" })
	_, _, body := r.do(t, http.MethodGet, "/api/audit", auth)
	for _, want := range []string{`"action":"revoke-key","target":"CP-001","outcome":"ok"`, `"action":"revoke-key","target":"CP-001","outcome":"denied"`,
		`"action":"rotate-key","target":"CP-001","outcome":"ok"`, `"intact":true`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit lacks %s:\n%s", want, body)
		}
	}
}
