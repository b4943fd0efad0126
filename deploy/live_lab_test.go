package deploy

import (
	"strings"
	"testing"
	"time"
)

// TestComposeThreeMachines runs the lab's three-machine layout (README,
// "Three machines") as three compose projects on one engine: A = Kafka, the
// Registry and Central, B = the charge points (enrolled at A's Registry),
// C = the drivers. A network shared by the three stands for the LAN: A's
// Kafka, Central and Registry are reached there by the names a-kafka,
// a-central and a-registry (the A_IP of the README), each node of B by its
// service name. Each project gets exactly the variables the README
// lists for its machine. Runs when EVSIM_COMPOSE=1.
func TestComposeThreeMachines(t *testing.T) {
	prefix := liveProject(t)
	a := newDeployment(t, prefix+"-a")
	b := newDeployment(t, prefix+"-b")
	c := newDeployment(t, prefix+"-c")
	lab := prefix + "-lab"
	all := []*deployment{a, b, c}
	cleanup := func() {
		for _, d := range all {
			d.tryDC("down", "-v", "--remove-orphans")
		}
		a.try("docker", "network", "rm", lab)
	}
	cleanup()
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range all {
				out, _ := d.tryDC("ps")
				t.Logf("%s at the failure:\n%s", d.project, out)
			}
		}
		cleanup()
		a.t = t
		a.printTimings()
	})
	a.run("docker", "network", "create", "--label", "evsim.lab="+prefix, lab)

	// Machine A: Kafka, the Registry and Central, announcing themselves by A's address.
	kafkaPort, remotePort, registryPort := a.port("KAFKA_HOST_PORT"), a.port("CENTRAL_REMOTE_PORT"), a.port("REGISTRY_PORT")
	a.env = append(a.env, "KAFKA_ADVERTISED_HOST=a-kafka", "CENTRAL_HOST=a-central", "REGISTRY_HOST=a-registry")
	// Machines B and C: Kafka and Central are on A; wait for A however late.
	onA := []string{"KAFKA_BOOTSTRAP=a-kafka:" + kafkaPort, "KAFKA_WAIT_MAX_ATTEMPTS=0"}
	b.env = append(b.env, onA...)
	b.env = append(b.env, "CENTRAL_HOST=a-central", "CENTRAL_REMOTE_PORT="+remotePort, "REGISTRY_HOST=a-registry", "REGISTRY_PORT="+registryPort)
	c.env = append(c.env, onA...)

	services := a.services()
	var bServices, cServices []string
	for _, s := range services {
		switch {
		case strings.HasPrefix(s, "engine-") || strings.HasPrefix(s, "monitor-"):
			bServices = append(bServices, s)
		case strings.HasPrefix(s, "driver-"):
			cServices = append(cServices, s)
		}
	}
	start := time.Now()
	aServices := []string{"kafka", "registry", "central"}
	a.join(lab, aServices, map[string]string{"kafka": "a-kafka", "central": "a-central", "registry": "a-registry"}, aServices...)
	c.join(lab, cServices, nil, append([]string{"--no-deps"}, cServices...)...)
	// B enrols its charge points at A's Registry, pinning the certificate
	// by the fingerprint A's Registry logs at its start (as README tells
	// the operator), then starts them.
	var fingerprint string
	a.waitFor("A's Registry logs its fingerprint", 2*time.Minute, func() (bool, string) {
		fingerprint = a.registryFingerprintOrEmpty()
		return fingerprint != "", "no fingerprint_sha256 in its log yet"
	})
	b.env = append(b.env, "REGISTRY_FINGERPRINT="+fingerprint)
	b.join(lab, []string{"enrol"}, nil, "--no-deps", "enrol")
	b.waitHealthy([]string{"enrol"}, 2*time.Minute)
	b.join(lab, bServices, nil, append([]string{"--no-deps"}, bServices...)...)
	a.record("three machines: create, join the LAN, start (B after enrolling at A)", time.Since(start))

	a.waitHealthy(aServices, 4*time.Minute)
	b.waitHealthy(bServices, 3*time.Minute)
	c.waitHealthy(cServices, 3*time.Minute)
	a.record("three machines: start -> all 16 healthy, enrol done", time.Since(start))
	a.waitFor("tickets on A's panel", 3*time.Minute, a.serving(5, 0))
	a.record("three machines: start -> 5 serving, first ticket", time.Since(start))
	a.checkLogs("machine A", aServices, false)
	b.checkLogs("machine B", append(bServices, "enrol"), false)
	a.everyChargePointHasTokens([]string{"CP-001", "CP-002", "CP-003", "CP-004", "CP-005"})
	c.checkLogs("machine C", cServices, false)
}

// port is the host port newDeployment chose for a variable.
func (d *deployment) port(name string) string {
	d.t.Helper()
	for i := len(d.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(d.env[i], name+"="); ok {
			return v
		}
	}
	d.t.Fatalf("no %s in the environment", name)
	return ""
}

// join creates the project's containers (compose up --no-start upArgs...),
// connects those of services to the shared network lab, under their service
// name or the alias given, and starts them: they meet the other machines'
// nodes from their first attempt.
func (d *deployment) join(lab string, services []string, alias map[string]string, upArgs ...string) {
	d.t.Helper()
	d.dc(append([]string{"up", "--no-start", "--no-build"}, upArgs...)...)
	byService := map[string]string{}
	for _, c := range d.containers() {
		byService[c.Service] = c.ID
	}
	var ids []string
	for _, s := range services {
		name := alias[s]
		if name == "" {
			name = s
		}
		d.run("docker", "network", "connect", "--alias", name, lab, byService[s])
		ids = append(ids, byService[s])
	}
	d.run("docker", append([]string{"start"}, ids...)...)
}
