package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An operator's order given at any Central of a shared group reaches the
// Central that owns the charge point: two `evnode central --shared-group`
// on the embedded broker and a site node (startTakeover), the test acting
// as the operator of the first Central.

// orderAnswer is the body of an operator action's answer: the result on
// 200, the error otherwise.
type orderAnswer struct {
	Affected int    `json:"affected"`
	Owner    string `json:"owner"`
	Error    string `json:"error"`
	Members  []struct {
		Address  string `json:"address"`
		Affected int    `json:"affected"`
		Error    string `json:"error"`
	} `json:"members"`
}

// order posts an operator action (e.g. "stop") for cpID to Central i (with
// cpID "" the action on all, e.g. "resume-all") and returns the HTTP status
// and the answer.
func (r *takeoverRun) order(i int, cpID, action string) (int, orderAnswer) {
	r.t.Helper()
	url := "http://" + r.https[i] + "/api/chargepoints/" + cpID + "/" + action
	if cpID == "" {
		url = "http://" + r.https[i] + "/api/" + action
	}
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+takeoverToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s at %s: %v", action, cpID, r.names[i], err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var a orderAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		r.t.Fatalf("%s %s at %s: %s, body %q: %v", action, cpID, r.names[i], res.Status, body, err)
	}
	return res.StatusCode, a
}

// TestOperatorOrderReachesTheOwningCentral: the operator of the first
// Central stops and resumes a charge point that the second owns; each order
// is carried out by the second (its panel shows STOPPED, then ACTIVATED)
// and the answer names it. An order for a charge point that no Central
// knows is still "unknown charge point" (404). With the owner frozen
// (SIGSTOP), the order's answer is 504 within --forward-timeout and names
// the owner that did not answer. Stop-all and resume-all act on every
// charge point of the network, at whichever Central they are given, and
// name a member that did not answer.
func TestOperatorOrderReachesTheOwningCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about ten seconds")
	}
	operatorOrderReachesTheOwningCentral(t, "")
}

// TestIntegrationOperatorOrderReachesTheOwningCentral is the same on the
// real Apache Kafka of the integration suite.
func TestIntegrationOperatorOrderReachesTheOwningCentral(t *testing.T) {
	brokers := suiteKafka(t)
	if testing.Short() {
		t.Skip("real processes, about ten seconds")
	}
	operatorOrderReachesTheOwningCentral(t, brokers)
}

func operatorOrderReachesTheOwningCentral(t *testing.T, brokers string) {
	// (a longer session timeout: the frozen Central keeps its partitions)
	r := startTakeover(t, takeoverSetup{brokers: brokers, centralArgs: []string{"--forward-timeout", "1s", "--group-session-timeout", "10s"}})
	cp := r.ownedBy(1)
	for _, step := range []struct{ action, state string }{{"stop", "STOPPED"}, {"resume", "ACTIVATED"}} {
		code, a := r.order(0, cp, step.action)
		if code != http.StatusOK || a.Affected != 1 || a.Owner != r.remotes[1] {
			r.fail("%s %s at central-1: %d %+v, want 200 with 1 affected by its owner %s", step.action, cp, code, a, r.remotes[1])
		}
		r.eventually(10*time.Second, cp+" "+step.state+" at its owner, central-2", func() (bool, string) {
			st := r.stateAt(1, cp)
			return st == step.state, st
		})
	}

	// Stop all at the first Central, resume all at the second: each acts on
	// every charge point of the network, and the answer names the other.
	for i, step := range []struct{ action, state string }{{"stop-all", "STOPPED"}, {"resume-all", "ACTIVATED"}} {
		other := r.remotes[1-i]
		code, a := r.order(i, "", step.action)
		if code != http.StatusOK || a.Affected != takeoverCPs || len(a.Members) != 1 || a.Members[0].Address != other ||
			a.Members[0].Affected == 0 || a.Members[0].Error != "" {
			r.fail("%s at %s: %d %+v, want 200 with all %d affected, some by %s", step.action, r.names[i], code, a, takeoverCPs, other)
		}
		r.eventually(10*time.Second, "every charge point "+step.state+" after "+step.action, func() (bool, string) {
			return r.allIn(r.all(), step.state)
		})
	}

	unknown := r.cp(99)
	if code, a := r.order(0, unknown, "stop"); code != http.StatusNotFound || a.Error != "unknown charge point "+unknown {
		r.fail("stop %s (no Central knows it) at central-1: %d %+v, want 404 unknown charge point", unknown, code, a)
	}

	r.freeze(r.names[1])
	began := time.Now()
	code, a := r.order(0, cp, "stop")
	took := time.Since(began)
	r.signal(r.names[1], syscall.SIGCONT)
	if code != http.StatusGatewayTimeout || !strings.Contains(a.Error, r.remotes[1]) || !strings.Contains(a.Error, "did not answer") {
		r.fail("stop %s at central-1 with its owner frozen: %d %+v, want 504 naming %s", cp, code, a, r.remotes[1])
	}
	if took > 4*time.Second {
		r.fail("the answer with the owner frozen took %v, want about --forward-timeout 1s", took)
	}
	t.Logf("answer with the owner frozen: %d %q after %v", code, a.Error, took)
	r.freeze(r.names[1])
	code, a = r.order(0, "", "stop-all")
	r.signal(r.names[1], syscall.SIGCONT)
	if code != http.StatusOK || len(a.Members) != 1 || !strings.Contains(a.Members[0].Error, "Central "+r.remotes[1]+" did not answer") {
		r.fail("stop-all at central-1 with central-2 frozen: %d %+v, want 200 naming %s as silent", code, a, r.remotes[1])
	}
	if bad := badLines(r.log(r.names[0], -1)); len(bad) > 0 {
		r.fail("central-1 logged %d ERROR or stack lines:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}
