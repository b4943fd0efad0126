package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
)

const adminToken = "admin-token-for-tests-0123"

type apiFixture struct {
	dir    string
	srv    *Server
	reg    *registry.Registry
	audit  *audit.Log
	client *http.Client
	base   string
	cert   *Certificate
}

func quiet() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// startAPI runs the Registry's HTTPS API on a free port with its
// self-signed pair, and a client that trusts that certificate only.
func startAPI(t testing.TB, th registry.ThrottleOptions) *apiFixture {
	t.Helper()
	f := &apiFixture{dir: t.TempDir()}
	var err error
	if f.audit, err = audit.Open(filepath.Join(f.dir, "audit.log"), audit.Options{}); err != nil {
		t.Fatal(err)
	}
	f.reg, err = registry.New(registry.Options{
		DataDir: f.dir, AdminToken: adminToken, Audit: f.audit, BcryptCost: bcrypt.MinCost, Throttle: th, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.cert, err = LoadCertificate("", "", f.dir, nil); err != nil {
		t.Fatal(err)
	}
	if f.srv, err = New(Options{Addr: "127.0.0.1:0", Registry: f.reg, Audit: f.audit, Certificate: f.cert.Pair, Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Start(); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(f.cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	f.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	f.base = "https://" + f.srv.Addr()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		f.reg.Close()
		_ = f.audit.Close()
	})
	return f
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// call sends method path with body (JSON-encoded unless a string) and
// the bearer token when not empty.
func (f *apiFixture) call(t testing.TB, method, path, bearerToken string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+bearerToken)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (f *apiFixture) register(t testing.TB, id string) string {
	t.Helper()
	a := f.call(t, "POST", "/v1/chargepoints", adminToken, map[string]any{"id": id, "location": "Alicante", "price_eur_kwh": 0.3})
	if a.status != http.StatusCreated {
		t.Fatalf("register %s = %d %s", id, a.status, a.body)
	}
	var out registerResponse
	a.decode(t, &out)
	return out.Credential
}
