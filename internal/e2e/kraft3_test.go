package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestIntegrationFailoverOnThreeBrokers is the failover of one Central of
// three (runCentralFailover) on a three-node Apache Kafka cluster (KRaft,
// replication factor 3, min.insync.replicas 2: scripts/kafka-cluster.sh),
// with one more crash: kill -9 of a Kafka node while the network runs.
// The network goes on without it (every process's bridge knows the other
// two, and every partition has two replicas left): supplies are ticketed
// after the crash, every charge point is ACTIVATED again (a crash of the
// group's coordinator can make the Centrals rebalance: the DISCONNECTED
// events meanwhile are logged, not failed), and when the node is back the
// killed Central's return and the end's invariants (one ticket per supply,
// no request answered twice) cover both crashes.
func TestIntegrationFailoverOnThreeBrokers(t *testing.T) {
	brokers, ctl := suiteKafkaCluster(t)
	if testing.Short() {
		t.Skip("real processes and a Kafka node's crash, about two minutes")
	}
	runCentralFailover(t, brokers, false, func(g *groupRun) {
		s := g.siteRun
		var all []string
		for n := 1; n <= 2*groupSiteCPs; n++ {
			all = append(all, s.cp(n))
		}
		var seqs []uint64
		for _, h := range g.https[1:] {
			seqs = append(seqs, lastSeqOf(h))
		}
		// As an operator before a rolling restart: crash a node only when
		// every partition has its three replicas in sync (on a loaded machine
		// a follower can fall behind; a partition whose only in-sync replica
		// dies stays offline until it returns, by Kafka's design).
		s.eventually(60*time.Second, "every partition's three replicas in sync", func() (bool, string) {
			return allInSync(brokers)
		})
		kafkaCluster(t, ctl, "kill", "2")
		crashed := time.Now()
		s.eventually(60*time.Second, "supplies ticketed after a Kafka node's crash", func() (bool, string) {
			n := g.ticketsEndedAfter(crashed)
			return n >= 5, fmt.Sprintf("%d tickets of supplies that ended after the crash", n)
		})
		t.Logf("Kafka node 2 killed: supplies ticketed again %v after the crash", time.Since(crashed).Round(100*time.Millisecond))
		// A crash of the node that coordinates the Centrals' consumer group
		// makes the group rebalance: for a moment a Central may drop and load
		// its charge points again, and some show DISCONNECTED (seen in 1 of 5
		// runs here: 7 DISCONNECTED, 33 at no Central, 13 s after the crash).
		// What must hold: they all come back, and the end's invariants.
		s.eventually(30*time.Second, "all 40 charge points ACTIVATED after a Kafka node's crash", func() (bool, string) {
			return g.allIn(all, "ACTIVATED", "SUPPLYING")
		})
		lost := 0
		for i, h := range g.https[1:] {
			lost += len(disconnectedSince(h, seqs[i]))
		}
		t.Logf("all charge points ACTIVATED %v after the crash; DISCONNECTED events meanwhile: %d",
			time.Since(crashed).Round(100*time.Millisecond), lost)
		kafkaCluster(t, ctl, "start", "2")
	})
}

// suiteKafkaCluster is the three-node cluster of the integration suite:
// its bootstrap list and the script that kills and starts its nodes.
func suiteKafkaCluster(t *testing.T) (brokers, ctl string) {
	t.Helper()
	brokers = os.Getenv("EVSIM_KAFKA_CLUSTER_BROKERS")
	if brokers == "" {
		// Opt-in for now: in 1 of 2 CI runs 17 supplies were still shown
		// running 30 s after the drivers stopped, after the node's return.
		t.Skip("EVSIM_KAFKA_CLUSTER_BROKERS is not set (EVSIM_INTEGRATION_CLUSTER=1 scripts/test-integration.sh runs this against a three-node Apache Kafka)")
	}
	ctl = os.Getenv("EVSIM_KAFKA_CLUSTER_CTL")
	if ctl == "" {
		ctl = filepath.Join("..", "..", "scripts", "kafka-cluster.sh")
	}
	// Whatever the test did to a node, the suite's cluster is whole again.
	t.Cleanup(func() { kafkaCluster(t, ctl, "start", "2") })
	return brokers, ctl
}

// allInSync says whether every partition of every topic has all its
// replicas in sync, and if not, which lag.
func allInSync(brokers string) (bool, string) {
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), sarama.NewConfig())
	if err != nil {
		return false, err.Error()
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return false, err.Error()
	}
	metas, err := admin.DescribeTopics(slices.Collect(maps.Keys(topics)))
	if err != nil {
		return false, err.Error()
	}
	var behind []string
	for _, m := range metas {
		for _, p := range m.Partitions {
			if len(p.Isr) < len(p.Replicas) {
				behind = append(behind, fmt.Sprintf("%s/%d isr %v of %v", m.Name, p.ID, p.Isr, p.Replicas))
			}
		}
	}
	return len(behind) == 0, fmt.Sprintf("%d partitions behind: %v", len(behind), behind)
}

// kafkaCluster runs scripts/kafka-cluster.sh VERB NODE. Plain exec, not
// testutil.Command: a node it starts belongs to the suite and outlives the test.
func kafkaCluster(t *testing.T, ctl, verb, node string) {
	t.Helper()
	if out, err := exec.Command("bash", ctl, verb, node).CombinedOutput(); err != nil {
		t.Fatalf("%s %s %s: %v\n%s", ctl, verb, node, err, out)
	}
}
