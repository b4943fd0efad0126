package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY, ...
	Args string
	Line int
}

// stage is one FROM and what follows it.
type stage struct {
	Base  string // after ARG defaults are substituted
	Name  string
	Instr []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var instrs []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		instrs = append(instrs, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// ARGs before the first FROM may be used in FROM lines.
	globalArgs := map[string]string{}
	var stages []stage
	for _, in := range instrs {
		switch {
		case in.Cmd == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(in.Args, "=")
			globalArgs[k] = v
		case in.Cmd == "FROM":
			fields := strings.Fields(in.Args)
			var st stage
			for i := 0; i < len(fields); i++ {
				if strings.HasPrefix(fields[i], "--") {
					continue
				}
				if st.Base == "" {
					base, err := interpolate(fields[i], globalArgs)
					if err != nil {
						t.Fatalf("Dockerfile line %d: %v", in.Line, err)
					}
					st.Base = base
				} else if strings.EqualFold(fields[i], "AS") && i+1 < len(fields) {
					st.Name = fields[i+1]
					i++
				}
			}
			stages = append(stages, st)
		case len(stages) == 0:
			t.Fatalf("Dockerfile line %d: %s before the first FROM", in.Line, in.Cmd)
		default:
			stages[len(stages)-1].Instr = append(stages[len(stages)-1].Instr, in)
		}
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instr {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build (a Go builder and a small runtime)", len(stages))
	}
	builder, final := stages[0], stages[len(stages)-1]

	if !regexp.MustCompile(`^(docker\.io/(library/)?)?golang:1\.26\b`).MatchString(builder.Base) {
		t.Errorf("builder stage is FROM %q, want golang:1.26", builder.Base)
	}
	if builder.Name == "" {
		t.Errorf("builder stage has no name (FROM ... AS build) for COPY --from")
	}
	var build string
	for _, in := range builder.all("RUN") {
		if strings.Contains(in.Args, "go build") {
			build = in.Args
		}
	}
	buildEnv := strings.Join(func() []string {
		var s []string
		for _, in := range builder.all("ENV") {
			s = append(s, in.Args)
		}
		return s
	}(), " ") + " " + build
	switch {
	case build == "":
		t.Errorf("builder stage has no `go build`")
	case !(strings.Contains(build, "./cmd/evsim") && strings.Contains(build, "./cmd/evnode")) && !strings.Contains(build, "./cmd/..."):
		t.Errorf("go build %q does not build both ./cmd/evsim and ./cmd/evnode", build)
	}
	if !strings.Contains(buildEnv, "CGO_ENABLED=0") {
		t.Errorf("CGO_ENABLED=0 is not set in the builder: the binaries must be static for a small runtime image")
	}

	if strings.HasPrefix(final.Base, "golang") {
		t.Errorf("the final stage is FROM %q: ship the binaries in a small image, not the Go toolchain", final.Base)
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Errorf("the final stage has no USER: containers would run as root")
	} else if u := users[len(users)-1].Args; regexp.MustCompile(`^(root|0)(:|$)`).MatchString(u) {
		t.Errorf("the final stage runs as %q, want a non-root user", u)
	}
	shipped := map[string]bool{}
	for _, in := range final.all("COPY") {
		if strings.Contains(in.Args, "--from="+builder.Name) {
			for _, f := range strings.Fields(in.Args) {
				shipped[filepath.Base(f)] = true
			}
		}
	}
	for _, bin := range []string{"evsim", "evnode"} {
		if !shipped[bin] {
			t.Errorf("the final stage does not COPY --from=%s the %s binary", builder.Name, bin)
		}
	}
	var volumes, entry string
	for _, in := range final.all("VOLUME") {
		volumes += in.Args
	}
	// An image VOLUME gives each of the 14 evnode containers an anonymous
	// volume that `compose down` leaves behind; compose mounts a named
	// volume where Central keeps its database instead (checked below).
	if volumes != "" {
		t.Errorf("the final stage declares VOLUME %s: every container would leave an anonymous volume behind", volumes)
	}
	for _, in := range final.all("ENTRYPOINT") {
		entry = in.Args
	}
	if !strings.Contains(entry, "evnode") {
		t.Errorf("ENTRYPOINT %q: compose runs `command: [ROLE]`, so evnode must be the entrypoint", entry)
	}
	// Health checks are `evnode health ROLE`, so the runtime needs no shell
	// or wget; by default it is a small official base.
	if !regexp.MustCompile(`^(docker\.io/(library/)?)?(alpine|busybox)\b|^gcr\.io/distroless/static|^scratch$`).MatchString(final.Base) {
		t.Errorf("final stage FROM %q: want a small runtime base (alpine, busybox, distroless static)", final.Base)
	}
	// ... and runs no command there (a distroless or scratch base has no shell).
	if runs := final.all("RUN"); len(runs) > 0 {
		t.Errorf("the final stage runs %q: it must work on a base without a shell", runs[0].Args)
	}
	// Central's database path in compose is on the image's volume.
	cf := loadCompose(t, map[string]string{})
	if c := cf.Services["central"]; c != nil && filepath.Dir(c.Environment["EVSIM_DB"]) != "/data" {
		t.Errorf("compose puts Central's database at %q, outside the image's /data volume", c.Environment["EVSIM_DB"])
	}
}

// TestDockerfileCopiesExist checks that every local COPY source exists in
// the build context (the repository root) and survives .dockerignore.
func TestDockerfileCopiesExist(t *testing.T) {
	root := ".."
	ignored := dockerignore(t, filepath.Join(root, ".dockerignore"))
	for _, st := range parseDockerfile(t, "Dockerfile") {
		for _, in := range st.all("COPY") {
			if strings.Contains(in.Args, "--from=") {
				continue
			}
			var args []string
			for _, f := range strings.Fields(in.Args) {
				if !strings.HasPrefix(f, "--") {
					args = append(args, f)
				}
			}
			for _, src := range args[:len(args)-1] {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("Dockerfile line %d copies %s, which is not in the repository: %v", in.Line, src, err)
				}
				if clean := filepath.Clean(src); clean != "." && ignored(clean) {
					t.Errorf("Dockerfile line %d copies %s, which .dockerignore excludes", in.Line, src)
				}
			}
		}
	}
	// What `go build ./cmd/...` needs must reach the builder.
	for _, p := range []string{"go.mod", "go.sum", "cmd", "messages", "internal", "actors", "bridge", "deploy/requests/alice.txt"} {
		if ignored(p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
	if !ignored(".git") || !ignored("deploy/.env") {
		t.Errorf(".dockerignore should keep .git and deploy/.env (local secrets) out of the build context")
	}
	// compose builds from the same place.
	c := loadCompose(t, map[string]string{}).Services["central"]
	if c == nil || c.Build == nil {
		t.Fatalf("central has no build section")
	}
	if got := filepath.Join(c.Build.Context, c.Build.Dockerfile); filepath.Clean(got) != filepath.Clean("../deploy/Dockerfile") {
		t.Errorf("compose builds %s from context %s; want context .. (the repository root) and deploy/Dockerfile", c.Build.Dockerfile, c.Build.Context)
	}
}

// dockerignore returns a matcher for the simple patterns we use (no "!").
func dockerignore(t *testing.T, path string) func(string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	var pats []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not understood by this test", l)
		}
		pats = append(pats, strings.TrimPrefix(filepath.Clean(l), "/"))
	}
	return func(p string) bool {
		// A path is excluded when it or one of its parent folders matches.
		for dir := p; dir != "." && dir != "/"; dir = filepath.Dir(dir) {
			if slices.ContainsFunc(pats, func(pat string) bool { return globMatch(pat, dir) }) {
				return true
			}
		}
		return false
	}
}

// globMatch is filepath.Match with a leading "**/" matching any depth.
func globMatch(pat, p string) bool {
	if rest, ok := strings.CutPrefix(pat, "**/"); ok {
		for {
			if m, _ := filepath.Match(rest, p); m {
				return true
			}
			_, after, found := strings.Cut(p, "/")
			if !found {
				return false
			}
			p = after
		}
	}
	m, _ := filepath.Match(pat, p)
	return m
}

// TestMakefileUsesThisComposeFile keeps `make up` / `make down` pointed here.
func TestMakefileUsesThisComposeFile(t *testing.T) {
	data, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"up", "down"} {
		re := regexp.MustCompile(`(?m)^` + target + `:.*\n((?:\t.*\n)+)`)
		m := re.FindSubmatch(data)
		if m == nil || !strings.Contains(string(m[1]), "deploy/compose.yaml") {
			t.Errorf("Makefile target %s does not run compose with deploy/compose.yaml", target)
		}
	}
}
