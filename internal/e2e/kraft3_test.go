package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestIntegrationFailoverOnThreeBrokers is the failover of one Central of
// three (runCentralFailover) on a three-node Apache Kafka cluster (KRaft,
// replication factor 3, min.insync.replicas 2: scripts/kafka-cluster.sh),
// with one more crash: kill -9 of a Kafka node while the network runs.
// The network goes on without it (every process's bridge knows the other
// two, and every partition has two replicas left): supplies are ticketed
// after the crash, no charge point leaves ACTIVATED/SUPPLYING, and when the
// node is back the killed Central's return and the end's invariants (one
// ticket per supply, no request answered twice) cover both crashes.
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
		kafkaCluster(t, ctl, "kill", "2")
		crashed := time.Now()
		s.eventually(60*time.Second, "supplies ticketed after a Kafka node's crash", func() (bool, string) {
			n := g.ticketsEndedAfter(crashed)
			return n >= 5, fmt.Sprintf("%d tickets of supplies that ended after the crash", n)
		})
		t.Logf("Kafka node 2 killed: supplies ticketed again %v after the crash", time.Since(crashed).Round(100*time.Millisecond))
		if ok, seen := g.allIn(all, "ACTIVATED", "SUPPLYING"); !ok {
			s.fail("after a Kafka node's crash: %s", seen)
		}
		for i, h := range g.https[1:] {
			if lost := disconnectedSince(h, seqs[i]); len(lost) > 0 {
				s.fail("%s showed charge points DISCONNECTED after a Kafka node's crash: %v", g.names[i+1], lost)
			}
		}
		kafkaCluster(t, ctl, "start", "2")
	})
}

// suiteKafkaCluster is the three-node cluster of the integration suite:
// its bootstrap list and the script that kills and starts its nodes.
func suiteKafkaCluster(t *testing.T) (brokers, ctl string) {
	t.Helper()
	brokers = os.Getenv("EVSIM_KAFKA_CLUSTER_BROKERS")
	if brokers == "" {
		if mustHaveKafka() {
			t.Fatal("EVSIM_KAFKA_CLUSTER_BROKERS is empty in an integration run")
		}
		t.Skip("EVSIM_KAFKA_CLUSTER_BROKERS is not set (scripts/test-integration.sh runs this against a three-node Apache Kafka)")
	}
	ctl = os.Getenv("EVSIM_KAFKA_CLUSTER_CTL")
	if ctl == "" {
		ctl = filepath.Join("..", "..", "scripts", "kafka-cluster.sh")
	}
	// Whatever the test did to a node, the suite's cluster is whole again.
	t.Cleanup(func() { kafkaCluster(t, ctl, "start", "2") })
	return brokers, ctl
}

// kafkaCluster runs scripts/kafka-cluster.sh VERB NODE. Plain exec, not
// testutil.Command: a node it starts belongs to the suite and outlives the test.
func kafkaCluster(t *testing.T, ctl, verb, node string) {
	t.Helper()
	if out, err := exec.Command("bash", ctl, verb, node).CombinedOutput(); err != nil {
		t.Fatalf("%s %s %s: %v\n%s", ctl, verb, node, err, out)
	}
}
