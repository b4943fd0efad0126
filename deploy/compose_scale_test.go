package deploy

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/seal"
)

// The scaled variant, compose.scale.yaml on top of compose.yaml, run with
// --scale central=N: N Centrals of one shared Kafka group.

// scaleEnv is what make up-scale sets: one host port per Central.
var scaleEnv = map[string]string{"CENTRAL_HTTP_PORT": "8080-8082", "CENTRAL_REMOTE_PORT_UPTO": "-8092"}

// scaleReplicas is the --scale central=N of make up-scale.
const scaleReplicas = 3

// mergeOverride applies an override file's services to base the way
// compose merges them, for the parts the checks read: environment by key,
// volumes by target, ports appended, depends_on by service.
func mergeOverride(base, over *composeFile) *composeFile {
	for name, o := range over.Services {
		b := base.Services[name]
		if b == nil {
			base.Services[name] = o
			continue
		}
		if b.Environment == nil {
			b.Environment = map[string]string{}
		}
		for k, v := range o.Environment {
			b.Environment[k] = v
		}
		for _, m := range o.Volumes {
			replaced := false
			for i := range b.Volumes {
				if b.Volumes[i].Target == m.Target {
					b.Volumes[i], replaced = m, true
				}
			}
			if !replaced {
				b.Volumes = append(b.Volumes, m)
			}
		}
		b.Ports = append(b.Ports, o.Ports...)
		for dep, c := range o.DependsOn {
			if b.DependsOn == nil {
				b.DependsOn = map[string]dependency{}
			}
			b.DependsOn[dep] = c
		}
	}
	for k, v := range over.Volumes {
		base.Volumes[k] = v
	}
	return base
}

// loadScaled reads compose.yaml with scaleFile (its text) on top, both
// interpolated with env.
func loadScaled(t *testing.T, scaleFile []byte, env map[string]string) *composeFile {
	t.Helper()
	over, err := parseCompose(scaleFile, env)
	if err != nil {
		t.Fatalf("compose.scale.yaml: %v", err)
	}
	return mergeOverride(loadCompose(t, env), over)
}

// checkScale checks a merged model of the scaled variant for n Centrals;
// withRanges says that make up-scale's port ranges were set.
func checkScale(t reporter, label string, cf *composeFile, n int, withRanges bool) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{label}, args...)...)
	}
	central, kafka := cf.Services["central"], cf.Services["kafka"]
	if central == nil || kafka == nil {
		errorf("no central or kafka service")
		return
	}
	env := central.Environment
	if ok, _ := strconv.ParseBool(env["EVSIM_SHARED_GROUP"]); !ok {
		errorf("central: EVSIM_SHARED_GROUP %q: the replicas must share the charge points as one group", env["EVSIM_SHARED_GROUP"])
	}
	if env["EVSIM_GROUP"] == "" {
		errorf("central: no EVSIM_GROUP")
	}
	if p := env["EVSIM_PARTITIONS"]; p != kafka.Environment["KAFKA_NUM_PARTITIONS"] {
		errorf("central: EVSIM_PARTITIONS %q, but Kafka creates topics with %q partitions", p, kafka.Environment["KAFKA_NUM_PARTITIONS"])
	} else if k, err := strconv.Atoi(p); err != nil || k < n {
		errorf("central: %q partitions cannot give each of %d Centrals a share", p, n)
	}
	session, err := time.ParseDuration(env["EVSIM_GROUP_SESSION_TIMEOUT"])
	minMS, merr := strconv.Atoi(kafka.Environment["KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS"])
	if merr != nil {
		minMS = 6000 // Kafka's default group.min.session.timeout.ms
	}
	switch {
	case err != nil || session <= 0:
		errorf("central: EVSIM_GROUP_SESSION_TIMEOUT %q is not a duration", env["EVSIM_GROUP_SESSION_TIMEOUT"])
	case session < time.Duration(minMS)*time.Millisecond:
		errorf("central: session timeout %v is below Kafka's group.min.session.timeout.ms (%d ms): Kafka refuses the Centrals' joins", session, minMS)
	case session > 10*time.Second:
		errorf("central: session timeout %v: a killed Central's charge points would wait that long", session)
	}
	// Each replica must advertise its own address, not the service name
	// (which resolves to all of them): peers forward to one Central.
	host, port, err := net.SplitHostPort(env["EVSIM_LISTEN"])
	if err != nil || host != "0.0.0.0" {
		errorf("central: EVSIM_LISTEN %q: want 0.0.0.0:PORT, so that an empty EVSIM_ADVERTISE means the replica's host name", env["EVSIM_LISTEN"])
	}
	if a := env["EVSIM_ADVERTISE"]; a != "" {
		errorf("central: advertises %q, the same for every replica; leave EVSIM_ADVERTISE empty (each its own host name)", a)
	}
	if _, err := seal.ParseMasterKey(env["EVSIM_MASTER_KEY"]); err != nil {
		errorf("central: EVSIM_MASTER_KEY: %v; every replica needs the same one (central.keys)", err)
	}
	if hasNamedVolumeAt(central, "/data", cf) {
		errorf("central: /data is a named volume, which the replicas would share (one SQLite file for %d Centrals)", n)
	}
	// Monitors dial the service name, which Docker resolves to every replica.
	for _, name := range sortedKeys(cf.Services) {
		s := cf.Services[name]
		if s.role() != "monitor" {
			continue
		}
		for _, c := range strings.Split(s.Environment["EVSIM_CENTRAL"], ",") {
			if h, p, _ := net.SplitHostPort(c); h != "central" || p != port {
				errorf("%s: dials Central at %q, want central:%s (every replica)", name, c, port)
			}
		}
	}
	for _, p := range central.Ports {
		first, last, isRange := strings.Cut(p.Published, "-")
		a, aerr := strconv.Atoi(first)
		b, berr := strconv.Atoi(last)
		switch {
		case !withRanges:
		case !isRange || aerr != nil || berr != nil || b-a+1 < n:
			errorf("central: publishes %s on host port %q: %d replicas need a range of at least %d", p.Target, p.Published, n, n)
		}
	}
}

func readScaleFile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("compose.scale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestScaleVariant checks compose.scale.yaml merged onto compose.yaml with
// make up-scale's environment, and the single deployment's checks on
// compose.yaml with that environment's defaults still hold.
func TestScaleVariant(t *testing.T) {
	checkScale(t, "scale", loadScaled(t, readScaleFile(t), scaleEnv), scaleReplicas, true)
}

// TestScaleVariantMergesWithCompose has compose merge the two files, with
// and without make up-scale's port ranges: no warning, and the merged model
// passes the checks.
func TestScaleVariantMergesWithCompose(t *testing.T) {
	compose := composeCommand(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{{"make up-scale", scaleEnv}, {"defaults", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			cf, err := parseCompose(runComposeConfigOf(t, compose, tc.env, "compose.yaml", "compose.scale.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkScale(t, "config "+tc.name, cf, scaleReplicas, tc.env != nil)
			if c := cf.Services["central"]; !hasMount(c, "registry-public", "/registry-public") || c.Environment["EVSIM_HTTP"] == "" {
				t.Errorf("central, merged: compose.yaml's settings should stay: %v %v", c.Volumes, c.Environment)
			}
		})
	}
}

// TestScaleChecksCatchBrokenFiles breaks compose.scale.yaml (and the port
// ranges) in the ways that matter and expects checkScale to say so.
func TestScaleChecksCatchBrokenFiles(t *testing.T) {
	orig := string(readScaleFile(t))
	for _, tc := range []struct {
		name, old, new string
		env            map[string]string
		want           string
	}{
		{"not shared", `EVSIM_SHARED_GROUP: "true"`, `EVSIM_SHARED_GROUP: "false"`, nil, "share the charge points"},
		{"the service name advertised", `EVSIM_ADVERTISE: ""`, `EVSIM_ADVERTISE: central:8090`, nil, "the same for every replica"},
		{"one database for all", "      - /data\n", "      - central-data:/data\n", nil, "named volume"},
		{"no shared master key", "      EVSIM_MASTER_KEY:", "      EVSIM_NO_MASTER_KEY:", nil, "EVSIM_MASTER_KEY"},
		{"Kafka's minimum session timeout kept", `KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: "1000"`, `KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: "6000"`, nil, "group.min.session.timeout.ms"},
		{"partitions not Kafka's", "EVSIM_PARTITIONS: ${KAFKA_NUM_PARTITIONS:-6}", "EVSIM_PARTITIONS: 12", nil, "partitions"},
		{"one fixed host port", "", "", map[string]string{"CENTRAL_HTTP_PORT": "8080", "CENTRAL_REMOTE_PORT_UPTO": "-8092"}, "need a range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(orig, tc.old) {
				t.Fatalf("compose.scale.yaml no longer contains %q: update this case", tc.old)
			}
			env := scaleEnv
			if tc.env != nil {
				env = tc.env
			}
			broken := orig
			if tc.old != "" {
				broken = strings.ReplaceAll(orig, tc.old, tc.new)
			}
			rec := &recorder{}
			checkScale(rec, "broken", loadScaled(t, []byte(broken), env), scaleReplicas, true)
			for _, e := range rec.errs {
				if strings.Contains(e, tc.want) {
					return
				}
			}
			t.Errorf("no check said %q; they said:\n%s", tc.want, strings.Join(rec.errs, "\n"))
		})
	}
}
