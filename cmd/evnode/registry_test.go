package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/bridge"
)

const testAdminToken = "an-admin-token-long-enough"

var registryListening = regexp.MustCompile(`Registry API on https://(127\.0\.0\.1:\d+)/`)

type registryProc struct {
	addr    string
	stderr  *syncBuffer
	client  *http.Client
	stop    func() int
	dataDir string
}

// startRegistryCommand runs `evnode registry` on dataDir against brokers.
func startRegistryCommand(t *testing.T, brokers, dataDir string, extra ...string) *registryProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &registryProc{stderr: &syncBuffer{}, dataDir: dataDir}
	done := make(chan int, 1)
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", dataDir, "--brokers", brokers, "--kafka-wait-seconds", "0.1", "--audit-fsync=false"}
	args = append(args, extra...)
	go func() { done <- runRegistry(ctx, args, envOf("EVSIM_ADMIN_TOKEN", testAdminToken), p.stderr) }()
	stopped := false
	p.stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Error("registry did not stop")
			return -1
		}
	}
	t.Cleanup(func() { p.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := registryListening.FindStringSubmatch(p.stderr.String()); m != nil {
			p.addr = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry never said where it listens:\n%s", p.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pem, err := os.ReadFile(filepath.Join(dataDir, "registry.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return p
}

func (p *registryProc) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "https://"+p.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// readRegistryTopic feeds a fresh Verifier with every record of the
// registry topic, as a Central that starts does.
func readRegistryTopic(t *testing.T, brokers string) *registry.Verifier {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_8_0_0
	c, err := sarama.NewConsumer([]string{brokers}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(bridge.TopicRegistry)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{brokers}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	v := registry.NewVerifier(registry.VerifierOptions{})
	for _, part := range parts {
		hw, err := client.GetOffset(bridge.TopicRegistry, part, sarama.OffsetNewest)
		if err != nil || hw == 0 {
			continue
		}
		pc, err := c.ConsumePartition(bridge.TopicRegistry, part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for msg := range pc.Messages() {
			m, _, err := bridge.Decode(msg.Value)
			if err != nil {
				t.Fatalf("a record of the registry topic does not decode: %v", err)
			}
			v.Apply(m)
			if msg.Offset+1 >= hw {
				break
			}
		}
		_ = pc.Close()
	}
	return v
}

// eventuallyVerify polls the topic until Verify of token answers want.
func eventuallyVerify(t *testing.T, brokers, cpID, token string, want error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		_, err = readRegistryTopic(t, brokers).Verify(cpID, token)
		if (want == nil && err == nil) || (want != nil && errors.Is(err, want)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("verify %s from the topic = %v; want %v", cpID, err, want)
}

// The registry as a process: HTTPS with its self-signed pair, changes on
// the compacted topic that a starting Central reads, and state, key and
// certificate that survive a restart, with the revocation holding.
func TestRegistryCommandPublishesAndSurvivesARestart(t *testing.T) {
	registryPublishesAndSurvivesARestart(t, startBrokerCommand(t, "--listen", "127.0.0.1:0"), "CP-001")
}

// The same on the integration suite's Apache Kafka: the topic is created
// compacted there too, and a fresh reader rebuilds the revocation.
func TestIntegrationRegistryCommandOnKafka(t *testing.T) {
	addrs := os.Getenv("EVSIM_KAFKA_BROKERS")
	if addrs == "" {
		if os.Getenv("EVSIM_INTEGRATION") == "1" {
			t.Fatal("EVSIM_INTEGRATION=1 but EVSIM_KAFKA_BROKERS is empty: the real Kafka case cannot run")
		}
		t.Skip("EVSIM_KAFKA_BROKERS is not set (scripts/test-integration.sh runs this against Apache Kafka)")
	}
	// An id of this run: the cluster keeps the topic across runs.
	registryPublishesAndSurvivesARestart(t, strings.Split(addrs, ",")[0], fmt.Sprintf("CP-IT-%d", time.Now().UnixNano()))
}

func registryPublishesAndSurvivesARestart(t *testing.T, brokers, cp string) {
	dir := t.TempDir()
	p := startRegistryCommand(t, brokers, dir)
	if !strings.Contains(p.stderr.String(), "fingerprint_sha256=") {
		t.Fatalf("the certificate's fingerprint is not logged:\n%s", p.stderr)
	}
	code, out := p.call(t, "POST", "/v1/chargepoints", testAdminToken, map[string]any{"id": cp, "location": "Alicante", "price_eur_kwh": 0.3})
	if code != 201 {
		t.Fatalf("register = %d %v", code, out)
	}
	cred := out["credential"].(string)
	code, out = p.call(t, "POST", "/v1/tokens", "", map[string]any{"id": cp, "credential": cred})
	if code != 200 {
		t.Fatalf("token = %d %v", code, out)
	}
	token := out["token"].(string)
	eventuallyVerify(t, brokers, cp, token, nil)

	if code, out = p.call(t, "POST", "/v1/chargepoints/"+cp+"/revoke", testAdminToken, nil); code != 200 {
		t.Fatalf("revoke = %d %v", code, out)
	}
	eventuallyVerify(t, brokers, cp, token, registry.ErrTokenRevoked)
	if c := p.stop(); c != 0 {
		t.Fatalf("registry exited %d on the signal", c)
	}
	fingerprint := regexp.MustCompile(`fingerprint_sha256=(\S+)`).FindStringSubmatch(p.stderr.String())[1]

	q := startRegistryCommand(t, brokers, dir)
	if !strings.Contains(q.stderr.String(), fingerprint) || strings.Contains(q.stderr.String(), "Created") {
		t.Fatalf("the restarted registry did not keep its certificate and key:\n%s", q.stderr)
	}
	if code, out = q.call(t, "POST", "/v1/tokens", "", map[string]any{"id": cp, "credential": cred}); code != 403 {
		t.Fatalf("token after the restart = %d %v; want 403 (revoked)", code, out)
	}
	eventuallyVerify(t, brokers, cp, token, registry.ErrTokenRevoked)
	q.stop()
	checkCompacted(t, brokers)

	var stdout, stderr bytes.Buffer
	if c := run([]string{"audit", "verify", "--file", filepath.Join(dir, "audit.log")}, noEnv, &stdout, &stderr); c != 0 || !strings.Contains(stdout.String(), "chain intact") {
		t.Fatalf("audit verify = %d %s %s", c, &stdout, &stderr)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	tampered := strings.Replace(string(log), `"action":"revoke"`, `"action":"rotate"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if c := run([]string{"audit", "verify", "--file", filepath.Join(dir, "audit.log")}, noEnv, &stdout, &stderr); c != 1 || !strings.Contains(stderr.String(), "broken at line 3") {
		t.Fatalf("audit verify of a tampered log = %d %s", c, &stderr)
	}
}

// checkCompacted asks the broker for the registry topic's cleanup policy
// (or that of the topic named).
func checkCompacted(t *testing.T, brokers string, topic ...string) {
	t.Helper()
	name := bridge.TopicRegistry
	if len(topic) > 0 {
		name = topic[0]
	}
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin([]string{brokers}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name == "cleanup.policy" && e.Value == "compact" {
			return
		}
	}
	t.Fatalf("%s is not compacted: %+v", name, entries)
}

func TestRegistryUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  func(string) (string, bool)
		want string
	}{
		{[]string{"registry"}, noEnv, "--admin-token"},
		{[]string{"registry", "--admin-token", "short"}, noEnv, "--admin-token"},
		{[]string{"registry", "--tls-cert", "a.pem"}, envOf("EVSIM_ADMIN_TOKEN", testAdminToken), "--tls-cert"},
		{[]string{"registry", "--listen", "nope"}, envOf("EVSIM_ADMIN_TOKEN", testAdminToken), "--listen"},
		{[]string{"registry", "--token-ttl", "0s"}, envOf("EVSIM_ADMIN_TOKEN", testAdminToken), "--token-ttl"},
		{[]string{"central", "--auth", "closed"}, noEnv, "--auth"},
		{[]string{"central", "--auth", "registry", "--registry-key", "not-a-key"}, noEnv, "--registry-key"},
		{[]string{"monitor", "--cp", "CP-001", "--registry", "http://127.0.0.1:8443", "--credential", "c"}, noEnv, "--registry"},
		{[]string{"monitor", "--cp", "CP-001", "--registry", "https://127.0.0.1:8443"}, noEnv, "--credential"},
		{[]string{"monitor", "--cp", "CP-001"}, noEnv, "--secret"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, tc.env, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "short\n") {
			t.Errorf("%v = %d %q; want 2 naming %s", tc.args, code, stderr.String(), tc.want)
		}
	}
}
