package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/registry"
)

// Client calls a Registry's API over HTTPS: what a charge point (a token)
// and an operator (a registration) need.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the Registry at base (https://HOST:PORT).
// caFile is the certificate to trust (e.g. the Registry's self-signed
// registry.crt); empty = the system's roots.
func NewClient(base, caFile string) (*Client, error) {
	if !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("registry client: %q is not an https:// address", base)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("registry client: read the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry client: %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return &Client{base: strings.TrimSuffix(base, "/"), http: &http.Client{
		Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 8},
	}}, nil
}

// Token exchanges a charge point's credential for a token.
func (c *Client) Token(ctx context.Context, id, credential string) (string, time.Time, error) {
	var out tokenResponse
	if err := c.call(ctx, "POST", "/v1/tokens", "", tokenRequest{ID: id, Credential: credential}, &out); err != nil {
		return "", time.Time{}, err
	}
	return out.Token, out.ExpiresAt, nil
}

// Register registers a charge point (rotate: renew the credential of an
// existing one) with the admin token and answers its credential.
func (c *Client) Register(ctx context.Context, adminToken, id, location string, price float64, rotate bool) (string, error) {
	var out registerResponse
	err := c.call(ctx, "POST", "/v1/chargepoints", adminToken, registerRequest{ID: id, Location: location, PriceEURPerKWh: &price, Rotate: rotate}, &out)
	return out.Credential, err
}

// call sends body as JSON and decodes a 2xx answer into out; any other
// answer is the Registry's error (registry.ErrBadCredential for 401, ...).
func (c *Client) call(ctx context.Context, method, path, bearerToken string, body, out any) error {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+bearerToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the Registry at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		if out == nil || len(data) == 0 {
			return nil
		}
		return json.Unmarshal(data, out)
	}
	var e errorBody
	_ = json.Unmarshal(data, &e)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return registry.ErrBadCredential
	case http.StatusForbidden:
		return registry.ErrRevoked
	case http.StatusConflict:
		return registry.ErrExists
	case http.StatusNotFound:
		return registry.ErrNotFound
	case http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &registry.ThrottledError{RetryAfter: time.Duration(secs) * time.Second}
	}
	return fmt.Errorf("the Registry answered %d: %s", resp.StatusCode, e.Error)
}

// Admin sends an operator call without a body (revoke, deregister) with the admin token.
func (c *Client) Admin(ctx context.Context, method, path, adminToken string) error {
	return c.call(ctx, method, path, adminToken, struct{}{}, nil)
}

// Get reads a charge point's record (never a secret) with the admin token;
// registry.ErrNotFound when the Registry does not know it.
func (c *Client) Get(ctx context.Context, adminToken, id string) (registry.View, error) {
	var out registry.View
	err := c.call(ctx, "GET", "/v1/chargepoints/"+url.PathEscape(id), adminToken, nil, &out)
	return out, err
}
