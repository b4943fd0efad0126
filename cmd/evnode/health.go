package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
)

// healthConfig is the configuration of `evnode health ROLE`. It reads the
// same variables as the role it checks (EVSIM_LISTEN, EVSIM_HTTP,
// KAFKA_BOOTSTRAP, EVSIM_CP), so that in a container the check needs no
// flags: `evnode health engine`.
type healthConfig struct {
	Role    string
	Listen  string
	HTTP    string
	CP      string
	Process string
	Kafka   config.Kafka
	Timeout time.Duration
	// TLS is the role's remote TLS identity (the same EVSIM_TLS_* variables).
	TLS config.NodeTLS

	// DataDir finds the registry's self-signed certificate (its own
	// variable); TLS.Cert, when set, is the registry's own certificate.
	DataDir string
}

// healthProbeName is an actor name no role uses. A request to it proves two
// answers of the process: protoactor's connection handshake, and its actor
// system replying that no actor has that name (a DeadLetterResponse).
const healthProbeName = "evnode-health-probe"

func parseHealth(args []string, getenv func(string) (string, bool)) (*healthConfig, error) {
	c := &healthConfig{}
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return nil, config.Usagef("", "evnode health needs a role: central, engine, monitor, driver or registry")
	}
	c.Role = args[0]
	listenDefault := map[string]string{
		"central": config.DefaultCentralRemote, "engine": config.DefaultEngineRemote,
		"monitor": config.DefaultMonitorRemote, "driver": "", "registry": config.DefaultRegistryListen,
	}
	def, ok := listenDefault[c.Role]
	if !ok {
		return nil, config.Usagef("", "evnode health: unknown role %q (want central, engine, monitor, driver or registry)", c.Role)
	}
	fs := config.NewFlagSet("evnode health " + c.Role)
	if getenv != nil {
		fs.Getenv = getenv
	}
	fs.String(&c.Listen, "listen", "", def, "HOST:PORT where the role's actor remote listens (a 0.0.0.0 host is asked on 127.0.0.1)")
	fs.String(&c.HTTP, "http", "", "", "central: HOST:PORT of the web panel, whose /readyz is asked")
	fs.String(&c.CP, "cp", "", "", "engine: the charge point id put in the health check")
	fs.String(&c.Process, "process-name", "", "evnode", "driver: the program name of the driver's process, looked for in /proc")
	fs.String(&c.DataDir, "data-dir", "", config.DefaultNodeDataDir+"/registry", "registry: its data dir, where its self-signed registry.crt is")
	fs.Duration(&c.Timeout, "probe-timeout", "", 3*time.Second, "how long to wait for the answer")
	config.AddKafkaFlags(fs, &c.Kafka, config.DefaultNodeBrokers)
	config.AddNodeTLSFlags(fs, &c.TLS, "the probe's actor remote (the role's own: a certificate valid for 127.0.0.1), or the registry's HTTPS certificate it trusts (else --data-dir's registry.crt)")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if err := c.TLS.Finish(); err != nil {
		return nil, err
	}
	if err := c.Kafka.Finish(); err != nil {
		return nil, err
	}
	switch {
	case c.Timeout <= 0:
		return nil, config.Usagef("probe-timeout", "%v must be more than 0", c.Timeout)
	case c.Role == "central" && c.HTTP == "":
		return nil, config.Usagef("http", "central's check asks /readyz: give the web panel's HOST:PORT")
	case c.Role == "central" && config.ValidateHostPort(c.HTTP) != nil:
		return nil, config.Usagef("http", "%q: want HOST:PORT", c.HTTP)
	case (c.Role == "engine" || c.Role == "monitor" || c.Role == "registry") && config.ValidateHostPort(c.Listen) != nil:
		return nil, config.Usagef("listen", "%q: want HOST:PORT", c.Listen)
	case c.Role == "driver" && len(c.Kafka.Brokers) == 0:
		return nil, config.Usagef("brokers", "must name at least one HOST:PORT")
	}
	return c, nil
}

// runHealth is `evnode health ROLE`, a container's health check answered by
// evnode itself: exit 0 and one line on stdout when healthy, else exit 1 and
// one line on stderr saying why (docker keeps both in `docker inspect`).
//
//   - central: its web panel's /readyz answers 200 (the bridge is ready).
//   - engine:  the engine actor answers a health check over its actor remote,
//     exactly as its monitor asks every second.
//   - monitor: the monitor's actor remote answers a request (see
//     healthProbeName).
//   - driver:  the driver's evnode process runs, and its Kafka answers.
//   - registry: its /healthz answers 200 over HTTPS with the certificate
//     of its file (--tls-cert, or registry.crt in --data-dir).
func runHealth(parent context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "site" {
		return runSiteHealth(parent, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "drivers" {
		return runDriversHealth(parent, args[1:], getenv, stdout, stderr)
	}
	c, err := parseHealth(args, getenv)
	if err != nil {
		return usageExit("health", err, stderr)
	}
	ctx, cancel := context.WithTimeout(parent, c.Timeout)
	defer cancel()
	start := time.Now()
	var what string
	switch c.Role {
	case "central":
		what, err = checkReadyz(ctx, localAddr(c.HTTP))
	case "engine":
		what, err = checkRemote(localAddr(c.Listen), engineName, &messages.HealthCheck{CpId: c.CP, Seq: uint64(time.Now().UnixNano())}, c.Timeout, &c.TLS)
	case "monitor":
		what, err = checkRemote(localAddr(c.Listen), healthProbeName, &messages.HealthCheck{}, c.Timeout, &c.TLS)
	case "driver":
		what, err = checkDriver(ctx, c)
	case "registry":
		what, err = checkRegistry(ctx, c)
	}
	if err != nil {
		fmt.Fprintf(stderr, "evnode health %s: unhealthy: %v\n", c.Role, err)
		return 1
	}
	fmt.Fprintf(stdout, "evnode health %s: %s in %d ms\n", c.Role, what, time.Since(start).Milliseconds())
	return 0
}

// localAddr turns a listen address into one to dial from the same host.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func checkReadyz(ctx context.Context, addr string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /readyz: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /readyz: %s %s", resp.Status, bytes.TrimSpace(body))
	}
	return "/readyz answered 200", nil
}

// checkRemote sends msg to name at addr over protoactor's remote and waits
// for any answer. Our own remote listens on loopback for the reply.
func checkRemote(addr, name string, msg any, timeout time.Duration, tlsID *config.NodeTLS) (string, error) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	defer system.Shutdown()
	cfg := remote.Configure("127.0.0.1", 0, remoteTLSOptions(tlsID, logging.Component(logging.Discard(), "Remote"))...)
	cfg.MaxRetryCount = 1
	rem := remote.NewRemote(system, cfg)
	if err := startQuietly(rem); err != nil {
		return "", err
	}
	defer rem.Shutdown(false)
	// A dead letter also comes back when the connection fails: only one
	// after protoactor's handshake with addr counts as the process's answer.
	var connected atomic.Bool
	sub := system.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*remote.EndpointConnectedEvent); ok && e.Address == addr {
			connected.Store(true)
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	answer, err := system.Root.RequestFuture(actor.NewPID(addr, name), msg, timeout).Result()
	if errors.Is(err, actor.ErrDeadLetter) && connected.Load() && name == healthProbeName {
		return "actor remote at " + addr + " answered", nil
	}
	if err != nil {
		return "", fmt.Errorf("no answer from %s at %s: %w", name, addr, err)
	}
	switch a := answer.(type) {
	case *messages.HealthAnswer:
		state := "OK"
		if !a.GetOk() {
			state = "KO (the engine answers; its charge point reports a fault)"
		}
		return fmt.Sprintf("engine of %s answered %s, state %s", a.GetCpId(), state, a.GetEngineState()), nil
	}
	return "", fmt.Errorf("%s at %s answered %T", name, addr, answer)
}

// startQuietly starts a remote; protoactor panics when it cannot listen.
func startQuietly(rem *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot start the probe's actor remote: %v", p)
		}
	}()
	rem.Start()
	return nil
}

// checkDriver: the driver has no listener of its own, so its check is what
// it needs to work: its evnode process is running, and its Kafka answers.
func checkDriver(ctx context.Context, c *healthConfig) (string, error) {
	pid, err := findProcess(c.Process, c.Role)
	if err != nil {
		return "", err
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	cfg := bridge.Config{Brokers: c.Kafka.Brokers, WaitAttempts: 1, WaitInterval: c.Timeout, ClientID: "evnode-health", Security: c.Kafka.Security.Bridge}
	if err := bridge.WaitForKafka(ctx, cfg, logger); err != nil {
		return "", fmt.Errorf("driver process %d runs, but Kafka at %v does not answer: %w", pid, c.Kafka.Brokers, err)
	}
	return fmt.Sprintf("driver process %d runs and Kafka answers", pid), nil
}

// findProcess finds a `PROGRAM ROLE` process other than this one in /proc
// (in a container, only the container's own processes are there).
func findProcess(program, role string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("cannot list processes: %w", err)
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0})
		for i := 0; i+1 < len(argv); i++ {
			if filepath.Base(string(argv[i])) == program && string(argv[i+1]) == role {
				return pid, nil
			}
		}
	}
	return 0, errors.New("no " + program + " " + role + " process is running")
}
