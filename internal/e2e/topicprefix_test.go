package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTopicPrefixKeepsNetworksApart runs two networks on one broker: evsim
// A (its embedded broker, --topic-prefix net-a.) and evsim B (on A's
// broker, EVSIM_TOPIC_PREFIX=net-b.), each with the same charge point ids
// and no drivers of its own, and an `evnode drivers` node per network.
// Every driver is answered by its own network's Central and the other
// Central never hears of it. Without the prefixes both Centrals read one
// driver.requests (and share its consumer group): each answers drivers of
// the other network.
func TestTopicPrefixKeepsNetworksApart(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	h := newHarness(t)
	evsim := buildBinary(t, h.dir, "evsim")
	broker := freeAddr(t)
	requests := filepath.Join(h.dir, "requests.txt")
	if err := os.WriteFile(requests, []byte("CP-001\nCP-002\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const drivers = 6
	network := []string{"--db", ":memory:", "--panel", "off", "--cps", "4", "--drivers", "0",
		"--supply-duration", "1s", "--driver-pause", "200ms", "--kafka-wait-seconds", "0.2"}
	textLogs := []string{"EVSIM_LOG_FORMAT=text"}
	h.addBinary("evsim-a", evsim, textLogs, append(network, "--embedded-broker", broker, "--topic-prefix", "net-a.")...)
	h.addBinary("evsim-b", evsim, append(textLogs, "EVSIM_TOPIC_PREFIX=net-b."), append(network, "--brokers", broker)...)
	driversOf := func(name string) []string {
		return []string{"drivers", "--brokers", broker, "--count", fmt.Sprint(drivers), "--id-pattern", name + "-%02d",
			"--requests", requests, "--progress-dir", "memory", "--driver-pause", "200ms", "--reply-timeout", "20s",
			"--kafka-wait-seconds", "0.2"}
	}
	h.add("drivers-a", nil, append(driversOf("anna"), "--topic-prefix", "net-a.")...)
	h.add("drivers-b", []string{"EVSIM_TOPIC_PREFIX=net-b."}, driversOf("bert")...)

	for _, name := range []string{"evsim-a", "evsim-b"} {
		h.start(name)
		h.eventually(90*time.Second, name+" has its 4 charge points registered", func() (bool, string) {
			return strings.Contains(h.log(name, 0), "All 4 charge points registered"), ""
		})
	}
	h.start("drivers-a")
	h.start("drivers-b")

	// Central logs every request it answers: "Sent START_SUPPLY to CP for
	// DRIVER" or "Denied DRIVER at CP"; a driver of the other network must
	// never appear in its log.
	nets := []struct{ central, own, other string }{{"evsim-a", "anna", "bert"}, {"evsim-b", "bert", "anna"}}
	h.eventually(120*time.Second, "each Central answers every one of its own drivers", func() (bool, string) {
		var missing []string
		for _, net := range nets {
			log := h.log(net.central, 0)
			if foreign := linesWith(log, net.other+"-"); len(foreign) > 0 {
				h.fail("%s answers the other network's drivers (%d lines), e.g.:\n%s",
					net.central, len(foreign), strings.Join(foreign[:min(5, len(foreign))], "\n"))
			}
			for i := 1; i <= drivers; i++ {
				d := fmt.Sprintf("%s-%02d", net.own, i)
				if !strings.Contains(log, " for "+d+" ") && !strings.Contains(log, "Denied "+d+" ") {
					missing = append(missing, net.central+" "+d)
				}
			}
		}
		return len(missing) == 0, "not answered yet: " + strings.Join(missing, ", ")
	})
}

// linesWith returns the lines of text that contain s.
func linesWith(text, s string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}
