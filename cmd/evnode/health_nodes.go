package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/messages"
)

// runSiteHealth is `evnode health site`: one of the node's engines (--cp,
// default the node's first charge point) answers a health check over the
// node's actor remote, as a monitor asks: the process runs, its bridge was
// ready and its charge points started. It reads the site's own variables
// (EVSIM_LISTEN, EVSIM_FIRST, EVSIM_ID_PATTERN, EVSIM_CP), so that in a
// container it needs no flags.
func runSiteHealth(_ context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	var listen, cp, pattern string
	var first int
	var timeout time.Duration
	var tlsID config.NodeTLS
	fs := config.NewFlagSet("evnode health site")
	if getenv != nil {
		fs.Getenv = getenv
	}
	fs.String(&listen, "listen", "", config.DefaultSiteRemote, "HOST:PORT where the site's actor remote listens (a 0.0.0.0 host is asked on 127.0.0.1)")
	fs.String(&cp, "cp", "", "", "the charge point whose engine is asked; default the node's first")
	fs.Int(&first, "first", "", 1, "number of the node's first charge point")
	fs.String(&pattern, "id-pattern", "", "CP-%03d", "the node's charge point id pattern")
	fs.Duration(&timeout, "probe-timeout", "", 3*time.Second, "how long to wait for the answer")
	config.AddNodeTLSFlags(fs, &tlsID, "the probe's actor remote (the site's own: a certificate valid for 127.0.0.1)")
	err := fs.Parse(args)
	switch {
	case err != nil:
	case tlsID.Finish() != nil:
		err = tlsID.Finish()
	case config.ValidateHostPort(listen) != nil:
		err = config.Usagef("listen", "%q: want HOST:PORT", listen)
	case timeout <= 0:
		err = config.Usagef("probe-timeout", "%v must be more than 0", timeout)
	case cp == "":
		if err = config.ValidateIDPattern("id-pattern", pattern); err == nil {
			cp = fmt.Sprintf(pattern, first)
		}
	}
	if err != nil {
		return usageExit("health", err, stderr)
	}
	start := time.Now()
	what, err := checkRemote(localAddr(listen), siteEngineName(cp), &messages.HealthCheck{CpId: cp, Seq: uint64(time.Now().UnixNano())}, timeout, &tlsID)
	return healthVerdict("site", what, err, start, stdout, stderr)
}

// runDriversHealth is `evnode health drivers`: as for one driver, an
// `evnode drivers` process runs and its Kafka answers (same flags and
// variables as `evnode health driver`).
func runDriversHealth(parent context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	c, err := parseHealth(append([]string{"driver"}, args...), getenv)
	if err != nil {
		return usageExit("health", err, stderr)
	}
	c.Role = "drivers"
	ctx, cancel := context.WithTimeout(parent, c.Timeout)
	defer cancel()
	start := time.Now()
	what, err := checkDriver(ctx, c)
	return healthVerdict(c.Role, what, err, start, stdout, stderr)
}

// healthVerdict writes the check's one line and returns its exit code.
func healthVerdict(role, what string, err error, start time.Time, stdout, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintf(stderr, "evnode health %s: unhealthy: %v\n", role, err)
		return 1
	}
	fmt.Fprintf(stdout, "evnode health %s: %s in %d ms\n", role, what, time.Since(start).Milliseconds())
	return 0
}
