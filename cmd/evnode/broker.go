package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
)

// brokerConfig is the configuration of `evnode broker`.
type brokerConfig struct {
	Log        config.Log
	Listen     string
	Advertise  string
	DataDir    string
	Partitions int
	// TLS and SASL are what the broker requires of its clients.
	TLS  config.NodeTLS
	SASL config.KafkaSecurity
}

func parseBroker(args []string, getenv func(string) (string, bool)) (*brokerConfig, error) {
	c := &brokerConfig{}
	fs := config.NewFlagSet("evnode broker")
	if getenv != nil {
		fs.Getenv = getenv
	}
	config.AddLogFlags(fs, &c.Log)
	fs.String(&c.Listen, "listen", "", bridge.DefaultEmbeddedAddr, "where the broker listens, HOST:PORT (port 0 = any free port; the address is logged)")
	fs.String(&c.Advertise, "advertise", "", "", "HOST:PORT the broker names to clients when that is not --listen (e.g. a container's service name); empty = --listen")
	fs.String(&c.DataDir, "data-dir", "", "", "keep topics, records and offsets in this directory across restarts; empty = memory only")
	fs.Int(&c.Partitions, "partitions", "", 6, "partitions of topics created on first use")
	config.AddNodeTLSFlags(fs, &c.TLS, "the Kafka listener (clients must then connect with TLS)")
	config.AddKafkaSASLFlags(fs, &c.SASL)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := c.Log.Validate(); err != nil {
		return nil, err
	}
	if err := config.ValidateHostPort(c.Listen); err != nil {
		return nil, config.Usagef("listen", "%q: %v", c.Listen, err)
	}
	if c.Advertise != "" {
		if err := config.ValidateHostPort(c.Advertise); err != nil {
			return nil, config.Usagef("advertise", "%q: %v", c.Advertise, err)
		}
		if _, port, _ := net.SplitHostPort(c.Advertise); port == "0" {
			return nil, config.Usagef("advertise", "%q: needs a real port", c.Advertise)
		}
	}
	if c.Partitions < 1 || c.Partitions > 1000 {
		return nil, config.Usagef("partitions", "%d is out of range (1 to 1000)", c.Partitions)
	}
	if err := c.TLS.Finish(); err != nil {
		return nil, err
	}
	if err := c.SASL.Finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// newLogger builds the process logger and routes sarama's package-level
// loggers into it (globals: once per process, by a command that uses sarama).
func newLogger(l config.Log, stderr io.Writer) (*logrus.Logger, error) {
	logger, err := newPlainLogger(l, stderr)
	if err != nil {
		return nil, err
	}
	logging.RouteSarama(logger)
	return logger, nil
}

// newPlainLogger is newLogger for commands that do not use sarama.
func newPlainLogger(l config.Log, stderr io.Writer) (*logrus.Logger, error) {
	return logging.New(logging.Options{Level: l.Level, Format: l.Format, Out: stderr})
}

// usageExit reports a flag problem the way cli.md wants: one line, exit 2
// (0 for --help).
func usageExit(cmd string, err error, stderr io.Writer) int {
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "evnode %s: %v\n", cmd, err)
	return 2
}

// runBroker is `evnode broker`: the embedded Kafka-protocol broker on its
// own, until SIGINT or SIGTERM.
func runBroker(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := parseBroker(args, getenv)
	if err != nil {
		return usageExit("broker", err, stderr)
	}
	logger, err := newPlainLogger(c.Log, stderr) // the broker is kfake: no sarama
	if err != nil {
		return usageExit("broker", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logging.Component(logger, "Broker")
	e, err := bridge.StartEmbedded(bridge.EmbeddedOptions{
		Addr: c.Listen, Advertise: c.Advertise, DataDir: c.DataDir, Partitions: c.Partitions, Logger: logger,
		TLS: c.TLS.ServerConfig(), SASL: c.SASL.Bridge.SASL,
	})
	if err != nil {
		log.WithField("error", err).Error("Cannot start the embedded Kafka broker")
		return 1
	}
	fields := brokerSecurityFields(c)
	if c.DataDir != "" {
		fields["data_dir"] = c.DataDir
	}
	if c.Advertise != "" {
		log.WithFields(fields).Infof("Embedded Kafka broker listening on %s (clients are told %s)", c.Listen, e.Addr())
	} else {
		log.WithFields(fields).Infof("Embedded Kafka broker listening on %s", e.Addr())
	}
	<-ctx.Done()
	e.Close()
	log.Info("Embedded Kafka broker stopped")
	return 0
}
