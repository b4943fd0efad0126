package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/evcharging/evsim/actors/central"
)

// GET /api/cluster/chargepoints: the whole network's charge points, when
// several Centrals share it (evnode central --shared-group). Each Central
// shows only the charge points of its partitions; this one asks every other
// member of the group's latest assignment for its list (GET
// /api/chargepoints on its panel_url, within Options.MemberTimeout), merges
// them with its own, names the Central that shows each row, and says which
// member did not answer and which partitions no Central owns. A Central
// that does not share its network answers with its own list.

// NetworkChargePoints is the answer of GET /api/cluster/chargepoints.
type NetworkChargePoints struct {
	// Complete: every member answered and every partition has an owner, so
	// ChargePoints is the whole network.
	Complete       bool    `json:"complete"`
	PartitionCount int32   `json:"partition_count"`
	Unowned        []int32 `json:"unowned_partitions"`
	// Members are the Centrals of the latest assignment, sorted by address.
	Members      []NetworkMember      `json:"members"`
	ChargePoints []NetworkChargePoint `json:"charge_points"`
}

// NetworkMember is one Central that was asked, and what it said.
type NetworkMember struct {
	Address    string  `json:"address"`
	PanelURL   string  `json:"panel_url,omitempty"`
	Self       bool    `json:"self"`
	Partitions []int32 `json:"partitions"`
	// Answered: its list is in; else Error says why not.
	Answered     bool   `json:"answered"`
	ChargePoints int    `json:"charge_points"`
	Error        string `json:"error,omitempty"`
}

// NetworkChargePoint is a charge point and the Central that shows it.
type NetworkChargePoint struct {
	ChargePoint
	Central  string `json:"central"`
	PanelURL string `json:"panel_url,omitempty"`
}

// maxMemberAnswer bounds a member's answer (100,000 charge points are ~30 MB).
const maxMemberAnswer = 256 << 20

func (s *Server) networkRoutes(mux *routeMux) {
	mux.HandleFunc("GET /api/cluster/chargepoints", s.networkChargePoints)
	mux.Handle("/api/cluster/chargepoints", methodNotAllowed("GET, HEAD"))
}

func (s *Server) networkChargePoints(w http.ResponseWriter, r *http.Request) {
	c, ok := s.askCluster(w, r)
	if !ok {
		return
	}
	snap, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	members := currentMembers(c.Members)
	out := NetworkChargePoints{PartitionCount: c.Central.PartitionCount, Unowned: []int32{}, Members: make([]NetworkMember, len(members))}
	lists := make([][]ChargePoint, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		parts := m.Partitions
		if parts == nil {
			parts = []int32{}
		}
		out.Members[i] = NetworkMember{Address: m.Address, PanelURL: panelURL(m.HTTP, m.Address), Self: m.Self, Partitions: parts}
		if m.Self {
			own := make([]ChargePoint, 0, len(snap.ChargePoints))
			for k := range snap.ChargePoints {
				own = append(own, toChargePoint(&snap.ChargePoints[k]))
			}
			lists[i] = own
			continue
		}
		wg.Add(1)
		go func(i int, url string) {
			defer wg.Done()
			list, err := s.memberChargePoints(r.Context(), url)
			if err != nil {
				out.Members[i].Error = err.Error()
			}
			lists[i] = list
		}(i, out.Members[i].PanelURL)
	}
	wg.Wait()
	out.Complete = true
	owned := map[int32]bool{}
	seen := map[string]bool{}
	for i := range members {
		m := &out.Members[i]
		m.Answered = m.Error == ""
		out.Complete = out.Complete && m.Answered
		m.ChargePoints = len(lists[i])
		for _, p := range m.Partitions {
			owned[p] = true
		}
		for _, cp := range lists[i] {
			if seen[cp.ID] {
				continue // shown by two in a rebalance: the first, by address
			}
			seen[cp.ID] = true
			out.ChargePoints = append(out.ChargePoints, NetworkChargePoint{ChargePoint: cp, Central: m.Address, PanelURL: m.PanelURL})
		}
	}
	for p := int32(0); p < out.PartitionCount; p++ {
		if !owned[p] {
			out.Unowned = append(out.Unowned, p)
		}
	}
	out.Complete = out.Complete && len(out.Unowned) == 0
	slices.SortFunc(out.ChargePoints, func(a, b NetworkChargePoint) int { return strings.Compare(a.ID, b.ID) })
	if out.ChargePoints == nil {
		out.ChargePoints = []NetworkChargePoint{}
	}
	writeJSON(w, http.StatusOK, out)
}

// currentMembers are the members of the group's latest assignment: a claim
// of an older generation is a Central that is gone (killed) or has not yet
// said what it owns now; one that left owns nothing. Without a shared group
// it is this Central alone.
func currentMembers(all []central.ClusterMember) []central.ClusterMember {
	top := int32(-1)
	for _, m := range all {
		if !m.Left {
			top = max(top, m.Generation)
		}
	}
	var out []central.ClusterMember
	for _, m := range all {
		if m.Self || (!m.Left && m.Generation == top) {
			out = append(out, m)
		}
	}
	return out
}

// memberChargePoints asks another Central's API for its charge points.
func (s *Server) memberChargePoints(ctx context.Context, panel string) ([]ChargePoint, error) {
	if panel == "" {
		return nil, errors.New("it serves no panel (no --http, or no address to reach it by)")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.MemberTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, panel+"api/chargepoints", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v", s.opts.MemberTimeout)
		}
		return nil, fmt.Errorf("cannot reach it: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("it answered %s", res.Status)
	}
	var list []ChargePoint
	if err := json.NewDecoder(io.LimitReader(res.Body, maxMemberAnswer)).Decode(&list); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no whole answer within %v", s.opts.MemberTimeout)
		}
		return nil, fmt.Errorf("its answer is not a list of charge points: %w", err)
	}
	return list, nil
}
