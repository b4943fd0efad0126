package web_test

import (
	"net/http"
	"testing"

	"github.com/evcharging/evsim/internal/web"
)

// GET /api/cluster on the real Central: in one process (evsim) its charge
// points are one "local" node; another method than GET is 405.
func TestClusterListsTheNodes(t *testing.T) {
	_, r := realNetwork(t, nil, "CP-001", "CP-002")
	var c web.ClusterView
	eventually(t, "one local node with two connected charge points", func() bool {
		r.getJSON(t, "/api/cluster", http.StatusOK, &c)
		return len(c.Nodes) == 1 && c.Nodes[0].Address == "local" && c.Nodes[0].ChargePoints == 2 && c.Nodes[0].Connected == 2
	})
	// One Central that shares nothing shows every charge point and owns every partition.
	if c.Central.Shared || c.Central.ChargePoints != 2 || c.Central.PartitionCount < 1 ||
		len(c.Members) != 1 || len(c.Members[0].Partitions) != int(c.Central.PartitionCount) {
		t.Errorf("share of one Central: %+v, members %+v", c.Central, c.Members)
	}
	if c.Central.Address != "local" || c.Central.Instance == "" || c.Central.Group == "" || c.Nodes[0].LastSeen == nil {
		t.Errorf("cluster: %+v", c)
	}
	if code, _, _ := r.do(t, http.MethodPost, "/api/cluster", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/cluster: %d, want 405", code)
	}
}

// A panel that cannot list members (a stand-in) answers 501, not a crash.
func TestClusterWithoutACentralThatListsMembers(t *testing.T) {
	r := newRig(t, 0, nil)
	var body map[string]any
	r.getJSON(t, "/api/cluster", http.StatusNotImplemented, &body)
}

// GET /api/cluster/chargepoints on a Central that shares nothing is its own
// list, complete, every row shown by it.
func TestWholeNetworkOfOneCentralIsItsOwnList(t *testing.T) {
	_, r := realNetwork(t, nil, "CP-001", "CP-002")
	var net web.NetworkChargePoints
	eventually(t, "both charge points, shown by this Central, complete", func() bool {
		r.getJSON(t, "/api/cluster/chargepoints", http.StatusOK, &net)
		return net.Complete && len(net.ChargePoints) == 2 && len(net.Members) == 1 && net.Members[0].Self && net.Members[0].Answered
	})
	for _, cp := range net.ChargePoints {
		if cp.Central != "local" || cp.State == "" {
			t.Errorf("row %+v: want shown by local", cp)
		}
	}
	if len(net.Unowned) != 0 || net.Members[0].ChargePoints != 2 {
		t.Errorf("network %+v", net)
	}
}
