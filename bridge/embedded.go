package bridge

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/evcharging/evsim/internal/logging"
)

// DefaultEmbeddedAddr is where the embedded broker listens unless told otherwise.
const DefaultEmbeddedAddr = "127.0.0.1:9092"

// EmbeddedOptions configures the embedded broker.
type EmbeddedOptions struct {
	// Addr is HOST:PORT to listen on. Default DefaultEmbeddedAddr; port 0
	// picks a free port (Embedded.Addr says which).
	Addr string
	// Advertise is the HOST:PORT the broker gives clients in its metadata,
	// when that is not Addr: a name other machines or containers can reach
	// while it listens on 0.0.0.0. Default: the address it listens on.
	Advertise string
	// DataDir, when set, keeps topics, records and committed offsets on disk
	// so that a broker started again on the same directory carries on where
	// the last one stopped. Default: memory only.
	DataDir string
	// Partitions is the partition count of topics created implicitly
	// (auto-created on first use). Default 6.
	Partitions int
	// RetentionCheck is how often the broker enforces topic retention
	// (retention.ms, retention.bytes). Default 5 s: what a busy network
	// writes between two checks is memory too.
	RetentionCheck time.Duration
	// SegmentBytes is the size of the broker's log segments. Retention frees
	// memory a whole segment at a time, so a partition holds up to its
	// retention.bytes plus one segment. Default 1 MiB (Kafka's 1 GiB and
	// kfake's 100 MiB would keep every record of a long run in memory).
	SegmentBytes int64
	// MinSessionTimeout is the smallest consumer-group session the broker
	// accepts. Default 1 s (kfake's own default, 6 s, refuses short sessions).
	MinSessionTimeout time.Duration
	// TLS, when not nil, makes the broker speak TLS only, with this server
	// configuration (its certificate; ClientCAs with ClientAuth to require
	// client certificates). Default: plaintext.
	TLS *tls.Config
	// SASL, when its Mechanism is set, makes the broker require SASL
	// authentication, with this user as its one user (a superuser).
	// Default: no authentication.
	SASL SASL
	// Logger receives the broker's own logs at DEBUG. Default: none.
	Logger logrus.FieldLogger

	// discard makes the broker acknowledge records without keeping them:
	// for producer benchmarks, so that the broker's storage is not measured.
	discard bool
}

// Embedded is a Kafka-protocol broker in this process (kfake). Any Kafka
// client can attach to it: sarama, kcat, the Java tools.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
}

// StartEmbedded starts the embedded broker. It is ready when this returns.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultEmbeddedAddr
	}
	if opts.Partitions == 0 {
		opts.Partitions = 6
	}
	if opts.RetentionCheck == 0 {
		opts.RetentionCheck = 5 * time.Second
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = 1 << 20
	}
	if opts.MinSessionTimeout == 0 {
		opts.MinSessionTimeout = time.Second
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, fmt.Errorf("embedded broker address %q: want HOST:PORT", opts.Addr)
	}
	if opts.Advertise != "" {
		if _, port, err := net.SplitHostPort(opts.Advertise); err != nil || port == "0" {
			return nil, fmt.Errorf("embedded broker advertised address %q: want HOST:PORT with a real port", opts.Advertise)
		}
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake always asks for 127.0.0.1:<port>; we listen where we were told.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, opts.Addr)
			if err != nil || opts.Advertise == "" {
				return ln, err
			}
			return advertisedListener{Listener: ln, addr: advertisedAddr(opts.Advertise)}, nil
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(opts.Partitions),
		kfake.GroupMinSessionTimeout(opts.MinSessionTimeout),
		kfake.ClusterID("evsim-embedded"),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": fmt.Sprint(opts.RetentionCheck.Milliseconds()),
			"log.segment.bytes":      fmt.Sprint(opts.SegmentBytes),
		}),
	}
	if opts.TLS != nil {
		kopts = append(kopts, kfake.TLS(opts.TLS))
	}
	if opts.SASL.Mechanism != "" {
		if err := (Security{SASL: opts.SASL}).Validate(); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		kopts = append(kopts, kfake.EnableSASL(), kfake.Superuser(opts.SASL.Mechanism, opts.SASL.User, opts.SASL.Password))
	}
	if opts.discard {
		kopts = append(kopts, kfake.BlackholeProduce())
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir))
	}
	if opts.Logger != nil {
		kopts = append(kopts, kfake.WithLogger(kfakeLogger{logging.Component(opts.Logger, "broker")}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", opts.Addr, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		c.Close()
		return nil, fmt.Errorf("start embedded broker on %s: no listener", opts.Addr)
	}
	return &Embedded{cluster: c, addr: addrs[0]}, nil
}

// Addr is the HOST:PORT clients use: where the broker really listens (the
// port chosen for port 0), or the advertised address when one was given.
func (e *Embedded) Addr() string { return e.addr }

// advertisedListener makes kfake advertise another address than the one it
// listens on (kfake puts its listener's address into metadata).
type advertisedListener struct {
	net.Listener
	addr advertisedAddr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// Cluster exposes the kfake cluster for tests (topic info, group info).
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the broker (and saves its state when it has a data directory).
// Safe to call more than once.
func (e *Embedded) Close() { e.cluster.Close() }

// kfakeLogger sends kfake's logs to DEBUG: the broker's chatter is not an
// operator's business; the bridge says what matters.
type kfakeLogger struct{ entry *logrus.Entry }

func (l kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if level == kfake.LogLevelNone {
		return
	}
	l.entry.Debugf(strings.TrimRight(msg, "\n"), args...)
}
