package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/sirupsen/logrus"
)

// probe asks each bootstrap broker in turn for metadata and succeeds at the
// first answer that names at least one broker. An open TCP port is not
// enough: the port of a starting broker (or of something that is not Kafka)
// accepts connections long before it answers Kafka requests.
func probe(cfg *Config) error {
	var errs []error
	for _, addr := range cfg.Brokers {
		err := probeOne(addr, cfg.probeSarama())
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return errors.Join(errs...)
}

// probeOne is one probe of one broker, bounded by the dial timeout as a
// whole: a port that accepts and never answers would otherwise cost a read
// timeout per request (API versions, then metadata).
func probeOne(addr string, sc *sarama.Config) error {
	b := sarama.NewBroker(addr)
	if err := b.Open(sc); err != nil {
		return fmt.Errorf("open: %w", err)
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
	t := time.NewTimer(sc.Net.DialTimeout)
	defer t.Stop()
	select {
	case err := <-result:
		_ = b.Close()
		return err
	case <-t.C:
		// Closing makes the pending request fail; its goroutine then ends.
		go func() { _ = b.Close() }()
		return fmt.Errorf("no Kafka answer within %v", sc.Net.DialTimeout)
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
	g.log.Infof("Waiting for Kafka at %s to be ready (max attempts %s, interval %s)",
		g.cfg.brokerList(), max, formatSeconds(g.cfg.WaitInterval))
}

// failed records one failed probe. It reports whether the attempts are used up
// (and then it has logged the one ERROR line).
func (g *gate) failed(err error) (exhausted bool) {
	g.attempt++
	g.log.WithField("error", err).Debugf("Kafka probe %d failed", g.attempt)
	if g.cfg.WaitAttempts > 0 && g.attempt >= g.cfg.WaitAttempts {
		g.log.Errorf("Kafka at %s did not become available after %d attempts", g.cfg.brokerList(), g.cfg.WaitAttempts)
		return true
	}
	if g.attempt%5 == 0 {
		if g.cfg.WaitAttempts > 0 {
			g.log.Infof("Still waiting for Kafka (attempt %d/%d)", g.attempt, g.cfg.WaitAttempts)
		} else {
			g.log.Infof("Still waiting for Kafka (attempt %d)", g.attempt)
		}
	}
	return false
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
		err := probe(&cfg)
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
