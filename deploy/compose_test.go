package deploy

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// threeMachines is the environment of README's three-machine deployment (A:
// Kafka + Central at 10.0.0.1, B: charge points at 10.0.0.2, C: drivers),
// with a charge point renamed, to prove that ids and addresses follow the
// environment everywhere they appear.
var threeMachines = map[string]string{
	"PUBLISH_HOST":          "0.0.0.0",
	"KAFKA_BOOTSTRAP":       "10.0.0.1:19092",
	"KAFKA_ADVERTISED_HOST": "10.0.0.1",
	"CENTRAL_HOST":          "10.0.0.1",
	"ENGINE_HOST":           "10.0.0.2",
	"MONITOR_HOST":          "10.0.0.2",
	"CP1_ID":                "CP-101",
	"CP1_SECRET":            "s3cret-101",
	"CENTRAL_REMOTE_PORT":   "18090",
}

func TestComposeServiceGraph(t *testing.T) {
	checkGraph(t, "defaults", loadCompose(t, map[string]string{}), true)
}

func TestComposeFollowsTheEnvironment(t *testing.T) {
	cf := loadCompose(t, threeMachines)
	checkGraph(t, "three machines", cf, false)
	checkThreeMachines(t, "three machines", cf)
}

// TestComposeConfig validates compose.yaml with docker compose itself
// (Debian's docker-compose 1.29, or the v2 plugin), then runs the graph
// checks on what it prints, with the defaults and with the three-machine
// environment. No Docker engine is needed for `config`.
func TestComposeConfig(t *testing.T) {
	compose := composeCommand(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{{"defaults", nil}, {"three machines", threeMachines}} {
		t.Run(tc.name, func(t *testing.T) {
			out := runComposeConfig(t, compose, tc.env)
			cf, err := parseCompose(out, nil)
			if err != nil {
				t.Fatalf("cannot read the output of %s config: %v", strings.Join(compose, " "), err)
			}
			checkGraph(t, "config "+tc.name, cf, tc.env == nil)
			if tc.env != nil {
				checkThreeMachines(t, "config "+tc.name, cf)
			}
		})
	}
}

// composeCommand finds docker-compose (or `docker compose`). Without either
// the test is skipped, except in CI, where it must run.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("docker"); err == nil {
		if testutil.Command(t, p, "compose", "version").Run() == nil {
			return []string{p, "compose"}
		}
	}
	msg := "neither docker-compose nor the docker compose plugin is installed, so compose.yaml was not validated by compose itself " +
		"(Debian: apt-get install docker-compose; `make setup` does it)"
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return nil
}

// runComposeConfig runs `config` in a clean environment: only PATH and HOME
// from ours, an empty env file (so a developer's deploy/.env is ignored), and
// env. It fails on warnings such as a variable used without a default.
func runComposeConfig(t *testing.T, compose []string, env map[string]string) []byte {
	t.Helper()
	return runComposeConfigOf(t, compose, env, "compose.yaml")
}

// runComposeConfigOf is runComposeConfig on compose files given in order.
func runComposeConfigOf(t *testing.T, compose []string, env map[string]string, files ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := slices.Clone(compose[1:])
	for _, f := range files {
		args = append(args, "-f", f)
	}
	args = append(args, "--env-file", envFile, "config")
	cmd := testutil.CommandContext(t, ctx, compose[0], args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8", "DOCKER_CONFIG=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s config: %v\n%s", strings.Join(compose, " "), err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); strings.Contains(strings.ToLower(s), "warn") || strings.Contains(s, "not set") {
		t.Errorf("%s config printed warnings:\n%s", strings.Join(compose, " "), s)
	}
	return out
}

// appRoles are the evnode commands a compose service may run.
var appRoles = []string{"central", "engine", "monitor", "driver", "registry", "enrol"}

// checkGraph checks the service graph of an interpolated compose model;
// defaults says that no variable was set.
func checkGraph(t reporter, label string, cf *composeFile, defaults bool) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{label}, args...)...)
	}

	kafka := cf.Services["kafka"]
	if kafka == nil {
		t.Errorf("%s: no kafka service", label)
		return
	}
	checkKafka(t, label, kafka, cf)

	byRole := map[string][]string{}
	images := map[string]bool{}
	for _, name := range sortedKeys(cf.Services) {
		s := cf.Services[name]
		if name == "kafka" {
			continue
		}
		role := s.role()
		if !slices.Contains(appRoles, role) {
			errorf("service %s runs %q, not one of the evnode roles %v", name, role, appRoles)
			continue
		}
		byRole[role] = append(byRole[role], name)
		images[s.Image] = true
		if role == "enrol" {
			checkOneShot(t, label, name, s)
			continue
		}
		checkAppService(t, label, name, s, cf)
	}
	if len(images) > 1 {
		errorf("evnode services run %d different images %v; one image serves every role", len(images), sortedKeys(images))
	}
	if n := len(cf.Services); n < 17 {
		errorf("%d services, want at least 17 (Kafka, the Registry, enrol, Central, 5 engines, 5 monitors, 3 drivers)", n)
	}
	if n := len(byRole["central"]); n != 1 {
		t.Errorf("%s: %d central services, want exactly 1", label, n)
		return
	}
	if n := len(byRole["engine"]); n < 5 {
		errorf("%d engines, want at least 5", n)
	}
	if n := len(byRole["driver"]); n < 3 {
		errorf("%d drivers, want at least 3", n)
	}
	central := cf.Services[byRole["central"][0]]
	checkCentral(t, label, central, cf)
	checkChargePoints(t, label, cf, byRole["engine"], byRole["monitor"], central)
	checkDrivers(t, label, cf, byRole["driver"], defaults)
	checkPorts(t, label, cf)
	checkIdentity(t, label, cf, byRole, defaults)
}

func checkKafka(t reporter, label string, k *service, cf *composeFile) {
	t.Helper()
	if !regexp.MustCompile(`^(docker\.io/)?apache/kafka:3\.7(\.\d+)?$`).MatchString(k.Image) {
		t.Errorf("%s: kafka image %q, want the official apache/kafka:3.7.x", label, k.Image)
	}
	if k.Restart != "unless-stopped" {
		t.Errorf("%s: kafka restart %q, want unless-stopped", label, k.Restart)
	}
	if k.Healthcheck == nil || len(k.Healthcheck.Test) < 2 {
		t.Errorf("%s: kafka has no health check", label)
		return
	}
	test := strings.Join(k.Healthcheck.Test, " ")
	// The check must ask Kafka (a Kafka request through Kafka's own tools,
	// by full path: /opt/kafka/bin is not on PATH in this image), not probe
	// a port: a port opens before the broker answers.
	if !regexp.MustCompile(`/opt/kafka/bin/kafka-(broker-api-versions|topics|metadata-quorum|cluster)\.sh\b`).MatchString(test) ||
		!strings.Contains(test, "--bootstrap-server") {
		t.Errorf("%s: kafka health check %q does not ask Kafka through /opt/kafka/bin/kafka-*.sh --bootstrap-server", label, test)
	}
	if regexp.MustCompile(`\b(nc|netcat|ncat)\b|/dev/tcp/`).MatchString(test) {
		t.Errorf("%s: kafka health check %q probes a port; it must ask Kafka", label, test)
	}
	env := k.Environment
	if roles := env["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "broker") || !strings.Contains(roles, "controller") {
		t.Errorf("%s: KAFKA_PROCESS_ROLES %q, want a KRaft node that is broker and controller", label, roles)
	}
	if len(env["CLUSTER_ID"]) != 22 {
		t.Errorf("%s: CLUSTER_ID %q: the image needs one, 22 characters (base64 of 16 bytes)", label, env["CLUSTER_ID"])
	}
	if !strings.Contains(env["KAFKA_ADVERTISED_LISTENERS"], "://kafka:9092") {
		t.Errorf("%s: KAFKA_ADVERTISED_LISTENERS %q has no in-network kafka:9092 listener", label, env["KAFKA_ADVERTISED_LISTENERS"])
	}
	for _, k := range []string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"} {
		if env[k] != "1" {
			t.Errorf("%s: %s = %q; one node needs 1", label, k, env[k])
		}
	}
	if dir := env["KAFKA_LOG_DIRS"]; dir == "" || !hasNamedVolumeAt(k, dir, cf) {
		t.Errorf("%s: Kafka's KAFKA_LOG_DIRS %q is not on a named volume", label, dir)
	}
}

func checkAppService(t reporter, label, name string, s *service, cf *composeFile) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s: "+format, append([]any{label, name}, args...)...)
	}
	if s.Restart != "unless-stopped" {
		errorf("restart %q, want unless-stopped", s.Restart)
	}
	// Each role's health check is evnode itself answering for that role.
	if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, []string{"CMD", "evnode", "health", s.role()}) {
		var test []string
		if s.Healthcheck != nil {
			test = s.Healthcheck.Test
		}
		errorf("health check %q, want [CMD evnode health %s]", test, s.role())
	}
	// (The Registry is not held: its API needs no Kafka; its bridge waits.)
	if d, ok := s.DependsOn["kafka"]; (!ok || d.Condition != "service_healthy") && s.role() != "registry" {
		errorf("does not depend on kafka with condition service_healthy (got %+v)", s.DependsOn)
	}
	for dep := range s.DependsOn {
		if cf.Services[dep] == nil {
			errorf("depends on %s, which is not a service", dep)
		}
	}
	// Gated by its own bridge as well: evnode waits for Kafka itself.
	env := s.Environment
	for _, b := range strings.Split(env["KAFKA_BOOTSTRAP"], ",") {
		hostPort(t, label+": "+name+": KAFKA_BOOTSTRAP", b)
	}
	if n, err := strconv.Atoi(env["KAFKA_WAIT_MAX_ATTEMPTS"]); err != nil || n < 0 {
		errorf("KAFKA_WAIT_MAX_ATTEMPTS %q is not a count", env["KAFKA_WAIT_MAX_ATTEMPTS"])
	}
	if f, err := strconv.ParseFloat(env["KAFKA_WAIT_SECONDS"], 64); err != nil || f <= 0 {
		errorf("KAFKA_WAIT_SECONDS %q is not a positive number", env["KAFKA_WAIT_SECONDS"])
	}
	if s.Image == "" {
		errorf("no image")
	}
	if s.Build != nil && filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
		errorf("builds %q, want deploy/Dockerfile", s.Build.Dockerfile)
	}
	// Actor remote: the advertised port must be the one listened on, so the
	// address works inside the network and, published as is, from outside.
	// (The Registry's EVSIM_LISTEN is its HTTPS API: checkIdentity.)
	if l, a := env["EVSIM_LISTEN"], env["EVSIM_ADVERTISE"]; (l != "" || a != "") && s.role() != "registry" {
		_, lp := hostPort(t, label+": "+name+": EVSIM_LISTEN", l)
		ah, ap := hostPort(t, label+": "+name+": EVSIM_ADVERTISE", a)
		if lp != ap {
			errorf("advertises port %d but listens on %d", ap, lp)
		}
		if ah == "0.0.0.0" || ah == "" || ah == "127.0.0.1" || ah == "localhost" {
			errorf("advertises %q, which no peer can dial", a)
		}
		for _, p := range s.Ports {
			if p.Target == strconv.Itoa(lp) && p.Published != p.Target {
				errorf("publishes its remote port %s on host port %s; they must match the advertised port", p.Target, p.Published)
			}
		}
	}
}

func checkCentral(t reporter, label string, c *service, cf *composeFile) {
	t.Helper()
	env := c.Environment
	db := env["EVSIM_DB"]
	if db == "" || db == ":memory:" {
		t.Errorf("%s: central: EVSIM_DB %q, want a file on a volume", label, db)
	} else if !hasNamedVolumeAt(c, filepath.Dir(db), cf) {
		t.Errorf("%s: central: its database %s is not on a named volume", label, db)
	}
	if env["EVSIM_HTTP"] == "" {
		t.Errorf("%s: central: no EVSIM_HTTP (web panel, /readyz)", label)
	}
	// `evnode health central` asks EVSIM_HTTP's /readyz.
	if c.Healthcheck == nil || !strings.Contains(strings.Join(c.Healthcheck.Test, " "), "/readyz") &&
		!strings.HasSuffix(strings.Join(c.Healthcheck.Test, " "), "evnode health central") {
		t.Errorf("%s: central: its health check should ask /readyz (ready once its bridge is)", label)
	}
}

// hasNamedVolumeAt reports whether s mounts a named volume, declared at the
// top level, at dir.
func hasNamedVolumeAt(s *service, dir string, cf *composeFile) bool {
	for _, m := range s.Volumes {
		if filepath.Clean(m.Target) == filepath.Clean(dir) && m.isNamedVolume() {
			_, declared := cf.Volumes[m.Source]
			return declared
		}
	}
	return false
}

func checkChargePoints(t reporter, label string, cf *composeFile, engines, monitors []string, central *service) {
	t.Helper()
	engineOf := map[string]string{} // cp id -> engine service
	for _, name := range engines {
		env := cf.Services[name].Environment
		cp := env["EVSIM_CP"]
		if cp == "" {
			t.Errorf("%s: %s: no EVSIM_CP", label, name)
			continue
		}
		if other, dup := engineOf[cp]; dup {
			t.Errorf("%s: %s and %s are both the engine of %s", label, other, name, cp)
		}
		engineOf[cp] = name
		if f, err := strconv.ParseFloat(env["EVSIM_KW"], 64); err != nil || f <= 0 {
			t.Errorf("%s: %s: EVSIM_KW %q is not a positive number", label, name, env["EVSIM_KW"])
		}
		if f, err := strconv.ParseFloat(env["EVSIM_PRICE"], 64); err != nil || f < 0 {
			t.Errorf("%s: %s: EVSIM_PRICE %q is not a price", label, name, env["EVSIM_PRICE"])
		}
	}
	secrets := map[string]string{} // from Central's list
	for _, pair := range strings.Split(central.Environment["EVSIM_CP_SECRETS"], ",") {
		if id, secret, ok := strings.Cut(strings.TrimSpace(pair), "="); ok {
			secrets[id] = secret
		}
	}
	monitorOf := map[string]string{}
	seenSecret := map[string]string{}
	for _, name := range monitors {
		s := cf.Services[name]
		env := s.Environment
		cp := env["EVSIM_CP"]
		if other, dup := monitorOf[cp]; dup {
			t.Errorf("%s: %s and %s both monitor %s", label, other, name, cp)
		}
		monitorOf[cp] = name
		engine, ok := engineOf[cp]
		if !ok {
			t.Errorf("%s: %s monitors %q, which has no engine", label, name, cp)
			continue
		}
		if got, want := env["EVSIM_ENGINE"], cf.Services[engine].Environment["EVSIM_ADVERTISE"]; got != want {
			t.Errorf("%s: %s checks the engine at %q, but %s advertises %q", label, name, got, engine, want)
		}
		if _, ok := s.DependsOn[engine]; !ok {
			t.Errorf("%s: %s does not depend on its engine %s", label, name, engine)
		}
		if got, want := env["EVSIM_CENTRAL"], central.Environment["EVSIM_ADVERTISE"]; got != want {
			t.Errorf("%s: %s registers with Central at %q, but Central advertises %q", label, name, got, want)
		}
		if env["EVSIM_LOCATION"] == "" {
			t.Errorf("%s: %s: no EVSIM_LOCATION", label, name)
		}
		secret := env["EVSIM_SECRET"]
		switch {
		case secret == "":
			t.Errorf("%s: %s: no EVSIM_SECRET", label, name)
		case seenSecret[secret] != "":
			t.Errorf("%s: %s shares its secret with %s; each charge point needs its own", label, name, seenSecret[secret])
		case secrets[cp] != secret:
			t.Errorf("%s: %s presents a secret that Central's EVSIM_CP_SECRETS does not hold for %s", label, name, cp)
		}
		seenSecret[secret] = name
		for _, k := range []string{"EVSIM_KW", "EVSIM_PRICE"} {
			if env[k] != cf.Services[engine].Environment[k] {
				t.Errorf("%s: %s registers %s=%q, its engine runs with %q", label, name, k, env[k], cf.Services[engine].Environment[k])
			}
		}
	}
	for cp, engine := range engineOf {
		if monitorOf[cp] == "" {
			t.Errorf("%s: %s (%s) has no monitor", label, cp, engine)
		}
	}
	if len(secrets) != len(engineOf) {
		t.Errorf("%s: Central holds %d secrets for %d charge points", label, len(secrets), len(engineOf))
	}
}

func checkDrivers(t reporter, label string, cf *composeFile, drivers []string, defaults bool) {
	t.Helper()
	cps := map[string]bool{}
	for _, s := range cf.Services {
		if s.role() == "engine" {
			cps[s.Environment["EVSIM_CP"]] = true
		}
	}
	ids := map[string]string{}
	for _, name := range drivers {
		s := cf.Services[name]
		id, path := s.Environment["EVSIM_ID"], s.Environment["EVSIM_REQUESTS"]
		if id == "" {
			t.Errorf("%s: %s: no EVSIM_ID", label, name)
		} else if other := ids[id]; other != "" {
			t.Errorf("%s: %s and %s are both driver %s", label, other, name, id)
		}
		ids[id] = name
		if path == "" {
			t.Errorf("%s: %s: no EVSIM_REQUESTS", label, name)
			continue
		}
		// The file comes from a mounted folder of this repository.
		var local string
		for _, m := range s.Volumes {
			if rel, err := filepath.Rel(m.Target, path); err == nil && !strings.HasPrefix(rel, "..") {
				src := m.Source
				if !filepath.IsAbs(src) {
					src = filepath.Join(".", src) // relative to the compose file: this folder
				}
				local = filepath.Join(src, rel)
				if !m.ReadOnly {
					t.Errorf("%s: %s mounts its requests read-write; read-only is enough", label, name)
				}
			}
		}
		if local == "" {
			t.Errorf("%s: %s reads %s, which no volume of the service provides", label, name, path)
			continue
		}
		reqs, err := readRequests(local)
		if err != nil {
			t.Errorf("%s: %s: %v", label, name, err)
			continue
		}
		known := 0
		for _, r := range reqs {
			if cps[r] {
				known++
			}
		}
		// With renamed charge points the shipped files no longer match; only
		// the defaults are held to the count.
		if defaults && known < 10 {
			t.Errorf("%s: %s: %s has %d requests for charge points of this deployment, want at least 10", label, name, local, known)
		}
	}
}

// readRequests reads a requests file: one charge point id per line; blank
// lines and # comments skipped.
func readRequests(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsAny(line, " \t,;") {
			return nil, fmt.Errorf("%s: %q is not one charge point id", path, line)
		}
		ids = append(ids, line)
	}
	return ids, sc.Err()
}

func checkPorts(t reporter, label string, cf *composeFile) {
	t.Helper()
	owner := map[string]string{}
	for _, name := range sortedKeys(cf.Services) {
		for _, p := range cf.Services[name].Ports {
			n, err := strconv.Atoi(p.Published)
			if err != nil || n <= 0 || n > 65535 {
				t.Errorf("%s: %s publishes %q: want one fixed host port (a range or none cannot be dialed by peers)", label, name, p.Published)
				continue
			}
			// A port is unique per protocol whatever the host IP: two
			// services on 127.0.0.1:X and 0.0.0.0:X collide as well.
			key := p.Published + "/" + p.Protocol
			if other, dup := owner[key]; dup {
				t.Errorf("%s: host port %s is published by both %s and %s", label, key, other, name)
			}
			owner[key] = name
		}
	}
}

// checkThreeMachines checks that the three-machine environment reached
// every place it should.
func checkThreeMachines(t reporter, label string, cf *composeFile) {
	t.Helper()
	for name, s := range cf.Services {
		for _, p := range s.Ports {
			if p.HostIP != "0.0.0.0" && p.HostIP != "" {
				t.Errorf("%s: %s publishes on %q, want PUBLISH_HOST (0.0.0.0)", label, name, p.HostIP)
			}
		}
		env := s.Environment
		switch s.role() {
		case "":
		case "central":
			if env["EVSIM_ADVERTISE"] != "10.0.0.1:18090" {
				t.Errorf("%s: central advertises %q, want CENTRAL_HOST:CENTRAL_REMOTE_PORT", label, env["EVSIM_ADVERTISE"])
			}
			if !strings.Contains(env["EVSIM_CP_SECRETS"], "CP-101=s3cret-101") {
				t.Errorf("%s: central's secrets %q miss the renamed CP-101", label, env["EVSIM_CP_SECRETS"])
			}
		case "engine", "monitor":
			if h, _, _ := strings.Cut(env["EVSIM_ADVERTISE"], ":"); h != "10.0.0.2" {
				t.Errorf("%s: %s advertises %q, want ENGINE_HOST / MONITOR_HOST", label, name, env["EVSIM_ADVERTISE"])
			}
		}
		if s.role() != "" && env["KAFKA_BOOTSTRAP"] != "10.0.0.1:19092" {
			t.Errorf("%s: %s uses Kafka at %q, want KAFKA_BOOTSTRAP", label, name, env["KAFKA_BOOTSTRAP"])
		}
	}
	if l := cf.Services["kafka"].Environment["KAFKA_ADVERTISED_LISTENERS"]; !strings.Contains(l, "://10.0.0.1:19092") {
		t.Errorf("%s: Kafka advertises %q, want its host listener at KAFKA_ADVERTISED_HOST", label, l)
	}
	found := false
	for _, s := range cf.Services {
		if s.role() == "monitor" && s.Environment["EVSIM_CP"] == "CP-101" {
			found = true
			if s.Environment["EVSIM_SECRET"] != "s3cret-101" {
				t.Errorf("%s: the monitor of CP-101 presents %q", label, s.Environment["EVSIM_SECRET"])
			}
		}
	}
	if !found {
		t.Errorf("%s: CP1_ID=CP-101 did not rename the first charge point's monitor", label)
	}
}

// TestComposeTakesIDsAndAddressesFromTheEnvironment reads the file as
// written: whatever differs between deployments must be a ${VAR}.
func TestComposeTakesIDsAndAddressesFromTheEnvironment(t *testing.T) {
	checkFromEnvironment(t, loadCompose(t, nil))
}

// checkFromEnvironment checks a compose model read without interpolation.
func checkFromEnvironment(t reporter, cf *composeFile) {
	t.Helper()
	fromEnv := []string{
		"KAFKA_BOOTSTRAP", "KAFKA_WAIT_MAX_ATTEMPTS", "KAFKA_WAIT_SECONDS",
		"EVSIM_CP", "EVSIM_ID", "EVSIM_LISTEN", "EVSIM_ADVERTISE", "EVSIM_ENGINE", "EVSIM_CENTRAL",
		"EVSIM_SECRET", "EVSIM_CP_SECRETS", "EVSIM_KW", "EVSIM_PRICE", "EVSIM_LOCATION", "EVSIM_REQUESTS",
	}
	for _, name := range sortedKeys(cf.Services) {
		s := cf.Services[name]
		for _, k := range fromEnv {
			if v, ok := s.Environment[k]; ok && !strings.Contains(v, "${") {
				t.Errorf("%s: %s is hard-coded as %q; take it from the environment (${VAR:-default})", name, k, v)
			}
		}
		for _, p := range s.Ports {
			if !strings.Contains(p.HostIP, "${") || !strings.Contains(p.Published, "${") {
				t.Errorf("%s: published port %s:%s: host address and port should come from the environment", name, p.HostIP, p.Published)
			}
		}
		if s.role() != "" && !strings.Contains(s.Image, "${") {
			t.Errorf("%s: image %q is hard-coded", name, s.Image)
		}
	}
	if k := cf.Services["kafka"]; k == nil {
		t.Errorf("no kafka service")
	} else if l := k.Environment["KAFKA_ADVERTISED_LISTENERS"]; !strings.Contains(l, "${") {
		t.Errorf("kafka: KAFKA_ADVERTISED_LISTENERS %q: the host listener's address should come from the environment", l)
	}
}

// TestEnvExampleListsEveryVariable keeps deploy/env.example and compose.yaml
// (with compose.secure.yaml) in step: every variable the files read is
// documented there, and nothing there is unused.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	used := composeVariables(t)
	f, err := os.Open("env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	def := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := def.FindStringSubmatch(sc.Text()); m != nil {
			listed[m[1]] = true
		}
	}
	for _, v := range sortedKeys(used) {
		if !listed[v] {
			t.Errorf("compose.yaml or compose.secure.yaml reads %s, which env.example does not list", v)
		}
	}
	for _, v := range sortedKeys(listed) {
		if !used[v] {
			t.Errorf("env.example lists %s, which neither compose.yaml nor compose.secure.yaml reads", v)
		}
	}
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "x", "EMPTY": ""}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"${SET}", "x"},
		{"$SET-y", "x-y"},
		{"${UNSET:-d}", "d"},
		{"${EMPTY:-d}", "d"},
		{"${EMPTY-d}", ""},
		{"${UNSET-d}", "d"},
		{"${SET:-d}", "x"},
		{"${UNSET:--Xmx1g -Xms1g}", "-Xmx1g -Xms1g"},
		{"$$HOME ${SET}:${UNSET:-9}", "$HOME x:9"},
		{"${UNSET}", ""},
	} {
		got, err := interpolate(tc.in, env)
		if err != nil || got != tc.want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"${UNSET:?needed}", "${EMPTY:?needed}", "${UNSET?needed}", "${OPEN", "cost $", "${:-x}", "$1"} {
		if got, err := interpolate(bad, env); err == nil {
			t.Errorf("interpolate(%q) = %q, want an error", bad, got)
		}
	}
	if got := variablesIn("$$NOT ${A:-${B}} $C x"); strings.Join(got, " ") != "A B C" {
		t.Errorf("variablesIn = %v", got)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
