package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
)

// waitKafkaConfig is the configuration of `evnode wait-kafka`.
type waitKafkaConfig struct {
	Kafka config.Kafka
	Log   config.Log
}

func parseWaitKafka(args []string, getenv func(string) (string, bool)) (*waitKafkaConfig, error) {
	c := &waitKafkaConfig{}
	fs := config.NewFlagSet("evnode wait-kafka")
	if getenv != nil {
		fs.Getenv = getenv
	}
	config.AddKafkaFlags(fs, &c.Kafka, bridge.DefaultEmbeddedAddr)
	config.AddLogFlags(fs, &c.Log)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := c.Kafka.Finish(); err != nil {
		return nil, err
	}
	if len(c.Kafka.Brokers) == 0 {
		return nil, config.Usagef("brokers", "must name at least one HOST:PORT")
	}
	if err := c.Log.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// runWaitKafka is `evnode wait-kafka`: the bridge's start-up gate as a
// command. Exit 0 once Kafka answers, 1 after the attempts. Interrupted by
// SIGINT/SIGTERM it also exits 1: its exit status answers "is Kafka ready?",
// and a health check killed at its timeout must not read as "yes".
func runWaitKafka(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := parseWaitKafka(args, getenv)
	if err != nil {
		return usageExit("wait-kafka", err, stderr)
	}
	logger, err := newLogger(c.Log, stderr)
	if err != nil {
		return usageExit("wait-kafka", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := bridge.Config{
		Brokers:      c.Kafka.Brokers,
		WaitAttempts: c.Kafka.WaitAttempts,
		WaitInterval: c.Kafka.WaitInterval,
		ClientID:     "evnode-wait-kafka",
		Security:     c.Kafka.Security.Bridge,
	}
	err = bridge.WaitForKafka(ctx, cfg, logger)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		logging.Component(logger, bridge.Component).Warn("Interrupted while waiting for Kafka")
	}
	return 1
}
