package deploy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// This file reads compose.yaml the way docker compose does, closely enough
// for the tests: YAML anchors and merge keys, then ${VAR} interpolation of
// values (never keys) with a given environment.

// reporter is what the checks need from a *testing.T, so that a test can
// also run them on a broken file and collect what they say.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// recorder is a reporter that keeps the messages.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// composeFile is the part of the compose model the tests look at. Ports and
// volumes accept both the short syntax (what compose.yaml uses, and what
// docker-compose 1.29 prints) and the long one (what docker compose v2
// prints), so the same checks run on the file and on `config` output.
type composeFile struct {
	Services map[string]*service `yaml:"services"`
	Volumes  map[string]any      `yaml:"volumes"`
}

type service struct {
	Image       string                `yaml:"image"`
	Build       *build                `yaml:"build"`
	Command     stringList            `yaml:"command"`
	Restart     string                `yaml:"restart"`
	Init        bool                  `yaml:"init"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Environment map[string]string     `yaml:"environment"`
	Ports       []port                `yaml:"ports"`
	Volumes     []mount               `yaml:"volumes"`
	Healthcheck *healthcheck          `yaml:"healthcheck"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

type healthcheck struct {
	Test        stringList `yaml:"test"`
	Interval    string     `yaml:"interval"`
	Timeout     string     `yaml:"timeout"`
	Retries     int        `yaml:"retries"`
	StartPeriod string     `yaml:"start_period"`
}

// stringList is a command or a health check test: a list, or one string.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// role is the evnode command a service runs ("" for other images).
func (s *service) role() string {
	if len(s.Command) == 0 {
		return ""
	}
	return s.Command[0]
}

// port is one published port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/proto].
type port struct {
	HostIP    string
	Published string
	Target    string
	Protocol  string
}

func (p *port) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			HostIP    string `yaml:"host_ip"`
			Published string `yaml:"published"`
			Target    string `yaml:"target"`
			Protocol  string `yaml:"protocol"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		*p = port{long.HostIP, long.Published, long.Target, long.Protocol}
	} else {
		spec, proto := n.Value, ""
		if i := strings.LastIndexByte(spec, '/'); i >= 0 && !strings.Contains(spec[i:], "}") {
			spec, proto = spec[:i], spec[i+1:]
		}
		parts := splitOutsideVars(spec, ':')
		switch len(parts) {
		case 2:
			*p = port{"", parts[0], parts[1], proto}
		case 3:
			*p = port{parts[0], parts[1], parts[2], proto}
		default:
			return fmt.Errorf("port %q: want [HOST_IP:]HOST_PORT:CONTAINER_PORT", n.Value)
		}
	}
	if p.Protocol == "" {
		p.Protocol = "tcp"
	}
	return nil
}

// mount is one volume: SOURCE:TARGET[:MODE], /TARGET (anonymous), or the long syntax.
type mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

func (m *mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Source   string `yaml:"source"`
			Target   string `yaml:"target"`
			ReadOnly bool   `yaml:"read_only"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		*m = mount{long.Source, long.Target, long.ReadOnly}
		return nil
	}
	parts := splitOutsideVars(n.Value, ':')
	if len(parts) == 1 && strings.HasPrefix(n.Value, "/") {
		*m = mount{Target: n.Value} // an anonymous volume, one per container
		return nil
	}
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("volume %q: want SOURCE:TARGET[:MODE]", n.Value)
	}
	*m = mount{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		m.ReadOnly = strings.Contains(parts[2], "ro")
	}
	return nil
}

// splitOutsideVars splits s at sep, except inside ${...}, so that the raw
// "${HOST:-127.0.0.1}:${PORT:-80}:80" splits in three.
func splitOutsideVars(s string, sep byte) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// isNamedVolume reports whether a mount source names a volume rather than a
// path on the host.
func (m mount) isNamedVolume() bool {
	return m.Source != "" && !strings.ContainsAny(m.Source, "/.~$")
}

// parseCompose decodes a compose document. With env non-nil every value is
// interpolated first (nil leaves the ${...} text as written, for checks on
// the raw file).
func parseCompose(data []byte, env map[string]string) (*composeFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if env != nil {
		if err := interpolateNode(&doc, env, false); err != nil {
			return nil, err
		}
	}
	var cf composeFile
	if err := doc.Decode(&cf); err != nil {
		return nil, err
	}
	if len(cf.Services) == 0 {
		return nil, fmt.Errorf("no services")
	}
	return &cf, nil
}

// loadCompose reads compose.yaml with env (nil = raw).
func loadCompose(t *testing.T, env map[string]string) *composeFile {
	t.Helper()
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cf, err := parseCompose(data, env)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return cf
}

// interpolateNode expands variables in every scalar value below n. Keys are
// left alone, as compose does; aliases are expanded where their anchor is.
func interpolateNode(n *yaml.Node, env map[string]string, isKey bool) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := interpolateNode(c, env, false); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := interpolateNode(n.Content[i+1], env, false); err != nil {
				return fmt.Errorf("%s: %w", n.Content[i].Value, err)
			}
		}
	case yaml.ScalarNode:
		if isKey || !strings.Contains(n.Value, "$") {
			return nil
		}
		v, err := interpolate(n.Value, env)
		if err != nil {
			return err
		}
		n.Value, n.Tag, n.Style = v, "!!str", 0
	}
	return nil
}

// interpolate expands compose variables in s: $$ (a literal $), $VAR,
// ${VAR}, ${VAR:-default} (default when unset or empty), ${VAR-default}
// (when unset), ${VAR:?message} and ${VAR?message} (an error instead).
func interpolate(s string, env map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("%q: a lone $ at the end (write $$ for a literal $)", s)
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%q: unclosed ${", s)
			}
			v, err := expand(s[i+2:i+end], env)
			if err != nil {
				return "", fmt.Errorf("%q: %w", s, err)
			}
			b.WriteString(v)
			i += end
		case isNameByte(next, true):
			j := i + 1
			for j < len(s) && isNameByte(s[j], j == i+1) {
				j++
			}
			b.WriteString(env[s[i+1:j]])
			i = j - 1
		default:
			return "", fmt.Errorf("%q: invalid use of $ (write $$ for a literal $)", s)
		}
	}
	return b.String(), nil
}

// expand evaluates the inside of ${...}.
func expand(expr string, env map[string]string) (string, error) {
	name := expr
	for k := 0; k < len(expr); k++ {
		if !isNameByte(expr[k], k == 0) {
			name = expr[:k]
			break
		}
	}
	if name == "" {
		return "", fmt.Errorf("${%s}: no variable name", expr)
	}
	op := expr[len(name):]
	val, set := env[name]
	switch {
	case op == "":
		return val, nil
	case strings.HasPrefix(op, ":-"):
		if val == "" {
			return op[2:], nil
		}
		return val, nil
	case strings.HasPrefix(op, "-"):
		if !set {
			return op[1:], nil
		}
		return val, nil
	case strings.HasPrefix(op, ":?"):
		if val == "" {
			return "", fmt.Errorf("%s: %s", name, op[2:])
		}
		return val, nil
	case strings.HasPrefix(op, "?"):
		if !set {
			return "", fmt.Errorf("%s: %s", name, op[1:])
		}
		return val, nil
	}
	return "", fmt.Errorf("${%s}: unsupported form", expr)
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// variablesIn lists the variable names that s refers to.
func variablesIn(s string) []string {
	var names []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		if s[i+1] == '$' {
			i++
			continue
		}
		j := i + 1
		if s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && isNameByte(s[k], k == j) {
			k++
		}
		if k > j {
			names = append(names, s[j:k])
		}
		i = k - 1
	}
	return names
}

// composeVariables lists every variable the values of compose.yaml and of
// its secured variant compose.secure.yaml use.
func composeVariables(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	for _, file := range []string{"compose.yaml", "compose.secure.yaml", "compose.scale.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		collectVariables(&doc, vars)
	}
	return vars
}

func collectVariables(doc *yaml.Node, vars map[string]bool) {
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			for _, v := range variablesIn(n.Value) {
				vars[v] = true
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
}

// hostPort splits HOST:PORT, failing the test when it is not one.
func hostPort(t reporter, where, s string) (string, int) {
	t.Helper()
	h, p, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(p)
	if !ok || strings.Contains(p, ":") || err != nil || n <= 0 || n > 65535 {
		t.Errorf("%s: %q is not HOST:PORT", where, s)
		return "", 0
	}
	return h, n
}

// TestLongSyntax: docker compose v2 prints ports and volumes in the long
// syntax; the checks read both.
func TestLongSyntax(t *testing.T) {
	doc := []byte(`
services:
  central:
    command: central
    ports:
      - {host_ip: 127.0.0.1, published: "8080", target: 8080, protocol: tcp}
      - "9090:90/udp"
    volumes:
      - {type: volume, source: central-data, target: /data}
      - {type: bind, source: /repo/deploy/requests, target: /etc/evsim/requests, read_only: true}
      - ./x:/y:ro
volumes:
  central-data: {}
`)
	cf, err := parseCompose(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Services["central"]
	if c.role() != "central" ||
		c.Ports[0] != (port{"127.0.0.1", "8080", "8080", "tcp"}) || c.Ports[1] != (port{"", "9090", "90", "udp"}) ||
		!c.Volumes[0].isNamedVolume() || c.Volumes[1].isNamedVolume() || !c.Volumes[1].ReadOnly ||
		c.Volumes[2] != (mount{"./x", "/y", true}) || !hasNamedVolumeAt(c, "/data", cf) {
		t.Errorf("parsed %+v", c)
	}
}
