package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/IBM/sarama"
	"github.com/sirupsen/logrus"
)

// probe asks each bootstrap broker in turn for metadata and succeeds at the
// first answer that names at least one broker. An open TCP port is not
// enough: the port of a starting broker (or of something that is not Kafka)
// accepts connections long before it answers Kafka requests. A failure is a
// probeFailure that says why for each broker; diagnose makes it look closer
// at the other end (the start-up gate does, health checks need not).
func probe(cfg *Config, diagnose bool) error {
	var f probeFailure
	for _, addr := range cfg.Brokers {
		err := probeOne(addr, cfg.probeSarama(), diagnose)
		if err == nil {
			return nil
		}
		f = append(f, err)
	}
	return f
}

// probeOne is one probe of one broker, bounded by the probe timeout as a
// whole: a port that accepts and never answers would otherwise cost a read
// timeout per request (API versions, then metadata).
func probeOne(addr string, sc *sarama.Config, diagnose bool) *probeError {
	limit := sc.Net.DialTimeout
	deadline := time.Now().Add(limit)
	pc := newProbeConn(limit)
	tlsOn := sc.Net.TLS.Enable
	if diagnose {
		sc.Net.Proxy.Enable, sc.Net.Proxy.Dialer = true, pc
		if tlsOn {
			// The probe's dialer makes the TLS handshake, under the sniffer.
			pc.tls, sc.Net.TLS.Enable = sc.Net.TLS.Config, false
		} else {
			pc.speaksTLS = func() bool { return speaksTLS(addr, max(time.Until(deadline), 100*time.Millisecond)) }
		}
	}
	b := sarama.NewBroker(addr)
	if err := b.Open(sc); err != nil {
		return &probeError{addr: addr, cause: fmt.Sprintf("cannot open a connection: %v", err), err: err}
	}
	result := make(chan error, 1)
	go func() {
		resp, err := b.GetMetadata(sarama.NewMetadataRequest(sc.Version, nil))
		switch {
		case err != nil:
			result <- fmt.Errorf("metadata: %w", err)
		case len(resp.Brokers) == 0:
			result <- ErrNoBroker
		default:
			result <- nil
		}
	}()
	// A silent peer gets a little more time, after the limit, to show what it
	// is: the probe has failed by then, so this costs only failing probes, and
	// it is long enough for a loaded machine to answer.
	nudge := time.Duration(0)
	if diagnose {
		nudge = min(limit, time.Second)
	}
	failed := func(err error, timedOut bool) *probeError {
		if cause, permanent := securityCause(err, tlsOn, sc); cause != "" {
			return &probeError{addr: addr, cause: cause, err: err, permanent: permanent}
		}
		if diagnose && sc.Net.SASL.Enable && isClosed(err) && pc.responses() >= 2 {
			// Kafka answered API versions and the SASL handshake, then hung
			// up during authentication: how kfake refuses a password.
			return &probeError{addr: addr, cause: saslRefused(sc), err: err, permanent: true}
		}
		cause := err.Error()
		if diagnose {
			cause = pc.cause(err, timedOut, limit)
		}
		return &probeError{addr: addr, cause: cause, err: err}
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-result:
		_ = b.Close()
		if err == nil {
			return nil
		}
		var nerr net.Error
		return failed(err, errors.As(err, &nerr) && nerr.Timeout())
	case <-t.C:
		pc.nudge(nudge)
		// Closing makes the pending request fail; its goroutine then ends.
		go func() { _ = b.Close() }()
		return failed(fmt.Errorf("no Kafka answer within %v", limit), true)
	}
}

// gate is the arithmetic and the wording of the start-up gate, shared by the
// bridge actor and WaitForKafka so that both say exactly the same lines.
type gate struct {
	cfg     *Config
	log     *logrus.Entry
	attempt int
}

func (g *gate) begin() {
	max := strconvAttempts(g.cfg.WaitAttempts)
	secured := ""
	if g.cfg.Security != (Security{}) {
		secured = ", " + g.cfg.Security.String()
	}
	g.log.Infof("Waiting for Kafka at %s to be ready (max attempts %s, interval %s%s)",
		g.cfg.brokerList(), max, formatSeconds(g.cfg.WaitInterval), secured)
}

// failed records one failed probe. It reports whether the attempts are used up
// (and then it has logged the one ERROR line).
func (g *gate) failed(err error) (exhausted bool) {
	g.attempt++
	g.log.WithField("error", probeDetail(err)).Debugf("Kafka probe %d failed: %s", g.attempt, probeCause(err))
	if isSecurityFailure(err) || g.cfg.WaitAttempts > 0 && g.attempt >= g.cfg.WaitAttempts {
		g.log.Error(g.gaveUp(err))
		return true
	}
	if g.attempt%5 == 0 {
		if g.cfg.WaitAttempts > 0 {
			g.log.Infof("Still waiting for Kafka (attempt %d/%d): %s", g.attempt, g.cfg.WaitAttempts, probeCause(err))
		} else {
			g.log.Infof("Still waiting for Kafka (attempt %d): %s", g.attempt, probeCause(err))
		}
	}
	return false
}

// gaveUp is the one ERROR line: what was tried, why it failed, and how to
// wait longer.
func (g *gate) gaveUp(err error) string {
	if isSecurityFailure(err) {
		return fmt.Sprintf("Kafka at %s refused this client: %s. Waiting would not help: fix the Kafka security settings",
			g.cfg.brokerList(), probeCause(err))
	}
	tried := "1 attempt"
	if n := g.cfg.WaitAttempts; n != 1 {
		tried = fmt.Sprintf("%d attempts %s apart", n, formatSeconds(g.cfg.WaitInterval))
	}
	return fmt.Sprintf("Kafka at %s did not become available after %s: %s. "+
		"To wait longer, raise --kafka-wait-attempts (KAFKA_WAIT_MAX_ATTEMPTS); 0 waits forever",
		g.cfg.brokerList(), tried, probeCause(err))
}

func (g *gate) ready() {
	g.log.Infof("Kafka at %s is ready", g.cfg.brokerList())
}

func strconvAttempts(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// WaitForKafka is the start-up gate without a bridge: it probes cfg.Brokers
// until one answers (nil), the attempts are used up (ErrKafkaUnavailable,
// after the one ERROR line) or ctx ends (ctx.Err()). It logs exactly the
// lines of the bridge's gate. evnode wait-kafka is this function.
func WaitForKafka(ctx context.Context, cfg Config, logger logrus.FieldLogger) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	g := &gate{cfg: &cfg, log: component(logger)}
	g.begin()
	for {
		start := time.Now()
		err := probe(&cfg, true)
		if err == nil {
			g.ready()
			return nil
		}
		if g.failed(err) {
			return ErrKafkaUnavailable
		}
		t := time.NewTimer(time.Until(start.Add(cfg.WaitInterval)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
