package e2e

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/evcharging/evsim/internal/config"
)

// The deployment and the roles agree: every evnode service of
// deploy/compose.yaml, with the file's defaults, is accepted by its role's
// configuration exactly as the container would see it (the service's
// environment plus the image's), and the addresses, secrets and request
// files fit together.
func TestComposeEnvironmentIsAcceptedByTheRoles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(withDefaults(string(raw))), &file); err != nil {
		t.Fatalf("read compose.yaml: %v", err)
	}
	// What deploy/Dockerfile sets for every role.
	image := map[string]string{"EVSIM_DB": "/data/central.db"}
	envOf := func(svc map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if v, ok := svc[k]; ok {
				return v, true
			}
			v, ok := image[k]
			return v, ok
		}
	}

	var central *config.Central
	engines := map[string]*config.Engine{}
	var monitors []*config.Monitor
	var drivers []*config.Driver
	var registry *config.Registry
	var enrol *config.Enrol
	names := make([]string, 0, len(file.Services))
	for name := range file.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		svc := file.Services[name]
		if len(svc.Command) == 0 {
			continue
		}
		getenv := envOf(svc.Environment)
		var err error
		switch svc.Command[0] {
		case "central":
			central, err = config.ParseCentral(nil, getenv)
		case "engine":
			var e *config.Engine
			if e, err = config.ParseEngine(nil, getenv); err == nil {
				engines[e.CP] = e
			}
		case "monitor":
			var m *config.Monitor
			if m, err = config.ParseMonitor(nil, getenv); err == nil {
				monitors = append(monitors, m)
			}
		case "driver":
			var d *config.Driver
			if d, err = config.ParseDriver(nil, getenv); err == nil {
				drivers = append(drivers, d)
			}
		case "registry":
			registry, err = config.ParseRegistry(nil, getenv)
		case "enrol":
			enrol, err = config.ParseEnrol(nil, getenv)
		default:
			t.Errorf("%s: evnode has no role %q", name, svc.Command[0])
			continue
		}
		if err != nil {
			t.Errorf("%s: evnode %s refuses its environment: %v", name, svc.Command[0], err)
		}
	}
	if central == nil || len(engines) != 5 || len(monitors) != 5 || len(drivers) != 3 {
		t.Fatalf("want Central, 5 engines, 5 monitors, 3 drivers; got central=%v, %d, %d, %d", central != nil, len(engines), len(monitors), len(drivers))
	}
	if registry != nil && enrol != nil {
		_, port, _ := net.SplitHostPort(registry.Listen)
		if u, err := url.Parse(enrol.Registry); err != nil || u.Port() != port {
			t.Errorf("enrol asks the Registry at %s, the Registry listens on %s", enrol.Registry, registry.Listen)
		}
		if enrol.AdminToken != registry.AdminToken {
			t.Errorf("enrol and the Registry are not given the same admin token")
		}
	}
	if central.HTTP == "" || central.Remote.Advertise == "" {
		t.Errorf("Central: no --http or --advertise: %+v", central)
	}
	for _, m := range monitors {
		e := engines[m.CP]
		switch {
		case e == nil:
			t.Errorf("monitor of %s has no engine", m.CP)
		case m.Engine != e.Remote.Advertise:
			t.Errorf("monitor of %s dials the engine at %s, the engine advertises %s", m.CP, m.Engine, e.Remote.Advertise)
		}
		if m.Central != central.Remote.Advertise {
			t.Errorf("monitor of %s dials Central at %s, Central advertises %s", m.CP, m.Central, central.Remote.Advertise)
		}
		if s, ok := central.CPSecrets[m.CP]; ok && s != m.Secret {
			t.Errorf("monitor of %s presents a secret that Central's --cp-secrets does not list for it", m.CP)
		}
		if e != nil && (e.KW != m.KW || e.Price != m.Price) {
			t.Errorf("%s: the engine runs at %g kW, %g EUR/kWh, the monitor announces %g kW, %g EUR/kWh", m.CP, e.KW, e.Price, m.KW, m.Price)
		}
	}
	for _, d := range drivers {
		const mount = "/etc/evsim/requests/"
		if !strings.HasPrefix(d.Requests, mount) {
			t.Errorf("driver %s reads %s, outside the mounted %s", d.ID, d.Requests, mount)
			continue
		}
		local := filepath.Join("..", "..", "deploy", "requests", strings.TrimPrefix(d.Requests, mount))
		if _, err := os.Stat(local); err != nil {
			t.Errorf("driver %s: its requests file is not shipped: %v", d.ID, err)
		}
	}
}

// withDefaults replaces ${VAR:-default}, ${VAR-default} and ${VAR} with the
// default (empty when there is none), as compose does with no variables set.
func withDefaults(s string) string {
	re := regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`)
	return re.ReplaceAllString(s, "$1")
}
