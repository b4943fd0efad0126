package central

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The members of the network as this Central knows them: itself, and the
// nodes its monitors registered from (an `evnode site` node hosts many
// charge points behind one address; an `evnode monitor` one). Central learns
// a node's address from the sender of its monitors' registrations.

// GetCluster asks Central for the members it knows; it answers with *Cluster.
type GetCluster struct{}

// Cluster is what Central knows of the network's members.
type Cluster struct {
	Central ClusterCentral
	// Nodes are sorted by address.
	Nodes []ClusterNode
	// Members are the Centrals of the group, this one included, sorted by
	// address: one (this one, owning every partition) unless shared.
	Members []ClusterMember
}

// ClusterMember is one Central of the group and the partitions it owns.
type ClusterMember struct {
	Address, Instance, HTTP string
	// Generation is the Kafka group's generation of its assignment.
	Generation int32
	// Partitions it owns of the charge-point-keyed topics.
	Partitions []int32
	// Self: the Central that answered. Left: it stopped cleanly.
	Self, Left bool
	// UpdatedAt is when it last said what it owns (zero for this one unless shared).
	UpdatedAt time.Time
}

// ClusterCentral is the Central that answered.
type ClusterCentral struct {
	// Address is its actor remote's address ("local" in one process).
	Address  string
	Instance string // this life's id, as in its session ids
	Group    string // its Kafka consumer group
	// Shared: it shares the charge points with the group's other Centrals.
	Shared bool
	// PartitionCount is how many partitions the charge points are spread
	// over (cp.status's count as Kafka reports it, else --partitions).
	PartitionCount int32
	// ChargePoints is how many charge points this Central shows: all of the
	// network's unless Shared, else those of the partitions it owns.
	ChargePoints int
}

// ClusterNode is one address monitors registered from.
type ClusterNode struct {
	Address string // "local": in Central's own process (evsim)
	// ChargePoints registered from there; Connected of them are alive now.
	ChargePoints int
	Connected    int
	// LastSeen is the newest sign of life from one of them.
	LastSeen time.Time
}

// ClusterPanel is a Panel that can also list the members.
type ClusterPanel interface {
	Cluster(ctx context.Context) (*Cluster, error)
}

// Cluster implements ClusterPanel.
func (p *actorPanel) Cluster(ctx context.Context) (*Cluster, error) {
	res, err := p.ask(ctx, &GetCluster{})
	if err != nil {
		return nil, err
	}
	c, ok := res.(*Cluster)
	if !ok {
		return nil, fmt.Errorf("central answered %T to a cluster request", res)
	}
	return c, nil
}

func (c *Central) cluster(ctx actor.Context) *Cluster {
	byAddr := map[string]*ClusterNode{}
	for _, cp := range c.cps {
		if cp.monitor == nil {
			continue
		}
		addr := nodeAddress(cp.monitor.GetAddress())
		n := byAddr[addr]
		if n == nil {
			n = &ClusterNode{Address: addr}
			byAddr[addr] = n
		}
		n.ChargePoints++
		if cp.alive {
			n.Connected++
		}
		if cp.lastSeen.After(n.LastSeen) {
			n.LastSeen = cp.lastSeen
		}
	}
	out := &Cluster{Central: ClusterCentral{Address: nodeAddress(ctx.Self().GetAddress()), Instance: c.instance, Group: c.cfg.Group, Shared: c.group != nil,
		PartitionCount: c.partitionCount(), ChargePoints: len(c.cps)}}
	out.Members = c.clusterMembers(out.Central.Address)
	for _, n := range byAddr {
		out.Nodes = append(out.Nodes, *n)
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Address < out.Nodes[j].Address })
	return out
}

// nodeAddress is a PID's address, "local" for this process (protoactor's "nonhost").
func nodeAddress(addr string) string {
	if addr == "" || addr == "nonhost" {
		return "local"
	}
	return addr
}
