package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/evcharging/evsim/actors/central"
)

// ClusterView is GET /api/cluster: the Central that answered and the nodes
// its charge points' monitors registered from.
type ClusterView struct {
	Central ClusterCentral `json:"central"`
	Nodes   []ClusterNode  `json:"nodes"`
	// Members are the Centrals of the group and the partitions each owns.
	Members []ClusterMember `json:"members"`
}

// ClusterMember is one Central of the group.
type ClusterMember struct {
	Address    string     `json:"address"`
	Instance   string     `json:"instance"`
	HTTP       string     `json:"http,omitempty"`
	Generation int32      `json:"generation"`
	Partitions []int32    `json:"partitions"`
	Self       bool       `json:"self"`
	Left       bool       `json:"left"`
	UpdatedAt  *time.Time `json:"updated_at"`
	// PanelURL is where a browser or another Central finds its panel and API.
	PanelURL string `json:"panel_url,omitempty"`
}

// ClusterCentral is the Central that answered.
type ClusterCentral struct {
	Address  string `json:"address"`
	Instance string `json:"instance"`
	Group    string `json:"group"`
	// Shared: it shares the charge points with the other Centrals of its group.
	Shared bool `json:"shared"`
	// PartitionCount: the charge points are spread over this many partitions.
	PartitionCount int32 `json:"partition_count"`
	// ChargePoints this Central shows (those of its partitions when Shared).
	ChargePoints int `json:"charge_points"`
}

// ClusterNode is one node (an address monitors registered from): an
// `evnode site` hosts many charge points, an `evnode monitor` one, "local"
// is Central's own process.
type ClusterNode struct {
	Address      string     `json:"address"`
	ChargePoints int        `json:"charge_points"`
	Connected    int        `json:"connected"`
	LastSeen     *time.Time `json:"last_seen"`
}

// errNoCluster: the panel cannot list members (a stand-in panel in tests).
var errNoCluster = errors.New("this panel cannot list the cluster's members")

// Cluster implements central.ClusterPanel.
func (s *PanelSlot) Cluster(ctx context.Context) (*central.Cluster, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	cp, ok := p.(central.ClusterPanel)
	if !ok {
		return nil, errNoCluster
	}
	return cp.Cluster(ctx)
}

// askCluster asks Central for its members; when it cannot, it writes the
// 501 (a panel that cannot list them) or 503 and returns false.
func (s *Server) askCluster(w http.ResponseWriter, r *http.Request) (*central.Cluster, bool) {
	cp, ok := s.opts.Panel.(central.ClusterPanel)
	if !ok {
		writeError(w, http.StatusNotImplemented, errNoCluster.Error())
		return nil, false
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	c, err := cp.Cluster(ctx)
	if errors.Is(err, errNoCluster) {
		writeError(w, http.StatusNotImplemented, err.Error())
		return nil, false
	}
	if err != nil {
		s.centralUnreachable(w, r, err)
		return nil, false
	}
	return c, true
}

// cluster answers GET /api/cluster.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	c, ok := s.askCluster(w, r)
	if !ok {
		return
	}
	out := ClusterView{
		Central: ClusterCentral{Address: c.Central.Address, Instance: c.Central.Instance, Group: c.Central.Group, Shared: c.Central.Shared,
			PartitionCount: c.Central.PartitionCount, ChargePoints: c.Central.ChargePoints},
		Nodes:   make([]ClusterNode, 0, len(c.Nodes)),
		Members: make([]ClusterMember, 0, len(c.Members)),
	}
	for _, m := range c.Members {
		mv := ClusterMember{Address: m.Address, Instance: m.Instance, HTTP: m.HTTP, PanelURL: panelURL(m.HTTP, m.Address),
			Generation: m.Generation, Partitions: m.Partitions, Self: m.Self, Left: m.Left}
		if mv.Partitions == nil {
			mv.Partitions = []int32{}
		}
		if !m.UpdatedAt.IsZero() {
			at := m.UpdatedAt.UTC()
			mv.UpdatedAt = &at
		}
		out.Members = append(out.Members, mv)
	}
	for _, n := range c.Nodes {
		node := ClusterNode{Address: n.Address, ChargePoints: n.ChargePoints, Connected: n.Connected}
		if !n.LastSeen.IsZero() {
			seen := n.LastSeen.UTC()
			node.LastSeen = &seen
		}
		out.Nodes = append(out.Nodes, node)
	}
	writeJSON(w, http.StatusOK, out)
}
