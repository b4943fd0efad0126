package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evcharging/evsim/internal/testutil/apidoc"
)

// TestWholeNetworkViewNamesOwnersAndSilentMembers runs two
// `evnode central --shared-group` of one group on the embedded broker and a
// site node of 8 charge points. GET /api/cluster/chargepoints at the first
// lists all 8, each with the Central that shows it, as the OpenAPI document
// says; its panel's "Whole network" box shows the same rows in headless
// Chromium. With the second Central frozen (SIGSTOP: in the group, but
// silent), the first answers within its --http-member-timeout (500ms), says
// plainly that the second did not answer and lists only its own; the panel
// says so too. Resumed (SIGCONT), the list is whole again.
func TestWholeNetworkViewNamesOwnersAndSilentMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes and a browser, about a minute")
	}
	chrome := chromium(t)
	docText, err := os.ReadFile("../web/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := apidoc.Load(t, docText)
	const cps = 8
	// A long session: a frozen Central stays in the group (its partitions do not move).
	g := startPanelGroup(t, "WN-%03d", 2, 2, cps, "--group-session-timeout", "30s", "--http-member-timeout", "500ms")
	s := g.siteRun
	var all []string
	for n := 1; n <= cps; n++ {
		all = append(all, s.cp(n))
	}

	s.eventually(20*time.Second, "central-1 lists the whole network, each charge point with its Central", func() (bool, string) {
		net, raw, err := networkOf(g.https[0])
		if err != nil {
			return false, err.Error()
		}
		if err := doc.Check(http.MethodGet, "/api/cluster/chargepoints", http.Header{}, "", http.StatusOK,
			http.Header{"Content-Type": {"application/json"}}, raw); err != nil {
			return false, "the answer is not as documented: " + err.Error()
		}
		owners := g.shownBy()
		var ids []string
		wrong := 0
		for _, cp := range net.ChargePoints {
			ids = append(ids, cp.ID)
			if owners[cp.ID] != cp.Central {
				wrong++
			}
		}
		answered := 0
		for _, m := range net.Members {
			if m.Answered {
				answered++
			}
		}
		return net.Complete && slices.Equal(ids, all) && wrong == 0 && answered == 2 && len(net.Members) == 2,
			fmt.Sprintf("complete %v, rows %v (%d with another Central than its owner %v), members %+v", net.Complete, ids, wrong, owners, net.Members)
	})

	// /api/cluster of a shared Central, with its share and the members' panels, as documented.
	res, err := http.Get("http://" + g.https[0] + "/api/cluster")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Check(http.MethodGet, "/api/cluster", http.Header{}, "", res.StatusCode, res.Header, raw); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("/api/cluster: %d %v: %s", res.StatusCode, err, raw)
	}

	ctx := chromiumTab(t, chrome, 3*time.Minute)
	if err := chromedp.Run(ctx, chromedp.Navigate("http://"+g.https[0]+"/"),
		chromedp.Click(`#network summary`, chromedp.ByQuery)); err != nil {
		t.Fatalf("opening the whole network on central-1's panel: %v", err)
	}
	s.eventually(20*time.Second, "the panel's whole-network box lists every charge point with its Central", func() (bool, string) {
		rows, silent, err := networkBox(ctx)
		if err != nil {
			return false, err.Error()
		}
		owners := g.shownBy()
		ok := len(rows) == cps && len(silent) == 0
		for id, central := range rows {
			ok = ok && owners[id] == central
		}
		return ok, fmt.Sprintf("rows %v, silent %v; owners %v", rows, silent, owners)
	})
	screenshot(t, ctx, "whole-network.png")

	// Freeze the second Central: in the group still, but silent.
	own := chargePoints(g.https[0])
	pid := s.procs["central-2"].cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	s.freeze("central-2")
	start := time.Now()
	net, _, err := networkOf(g.https[0])
	took := time.Since(start)
	if err != nil {
		t.Fatalf("with central-2 frozen: %v", err)
	}
	var silent *networkMember
	for i, m := range net.Members {
		if m.Address == g.remotes[1] {
			silent = &net.Members[i]
		}
	}
	if net.Complete || silent == nil || silent.Answered || !strings.Contains(silent.Error, "no answer within 500ms") ||
		len(net.ChargePoints) != len(own) || took > 3*time.Second {
		t.Errorf("with central-2 frozen: complete %v, central-2 %+v, %d rows (central-1 shows %d), in %v; want central-2 named as silent, central-1's rows, within the 500ms timeout",
			net.Complete, silent, len(net.ChargePoints), len(own), took)
	}
	t.Logf("with a frozen member the whole network answered in %v (--http-member-timeout 500ms)", took.Round(time.Millisecond))
	s.eventually(20*time.Second, "the panel says central-2 did not answer", func() (bool, string) {
		rows, silent, err := networkBox(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(rows) == len(own) && slices.Contains(silent, g.remotes[1]), fmt.Sprintf("rows %v, silent %v", rows, silent)
	})
	screenshot(t, ctx, "whole-network-silent-member.png")

	s.signal("central-2", syscall.SIGCONT)
	s.eventually(20*time.Second, "the panel lists the whole network again", func() (bool, string) {
		rows, silent, err := networkBox(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(rows) == cps && len(silent) == 0, fmt.Sprintf("rows %v, silent %v", rows, silent)
	})
}

type networkMember struct {
	Address  string `json:"address"`
	Answered bool   `json:"answered"`
	Error    string `json:"error"`
}

type networkAnswer struct {
	Complete     bool            `json:"complete"`
	Members      []networkMember `json:"members"`
	ChargePoints []struct {
		ID      string `json:"id"`
		Central string `json:"central"`
	} `json:"charge_points"`
}

// networkOf GETs /api/cluster/chargepoints; raw is the body as sent.
func networkOf(httpAddr string) (*networkAnswer, []byte, error) {
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + httpAddr + "/api/cluster/chargepoints")
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, raw, fmt.Errorf("status %s: %s", res.Status, raw)
	}
	var net networkAnswer
	if err := json.Unmarshal(raw, &net); err != nil {
		return nil, raw, err
	}
	return &net, raw, nil
}

// shownBy is the remote address of the running Central that shows each charge point.
func (g *groupRun) shownBy() map[string]string {
	out := map[string]string{}
	for i, name := range g.names {
		if !g.running(name) {
			continue
		}
		for id := range chargePoints(g.https[i]) {
			out[id] = g.remotes[i]
		}
	}
	return out
}

// networkBox reads the panel's whole-network box: each row's Central by
// charge point, and the members it says did not answer.
func networkBox(ctx context.Context) (rows map[string]string, silent []string, err error) {
	var page struct {
		Rows   [][2]string
		Silent []string
	}
	err = chromedp.Run(ctx, chromedp.Evaluate(`({
		rows: [...document.querySelectorAll('#network tbody tr')].map((tr) => [tr.dataset.id, tr.dataset.central]),
		silent: [...document.querySelectorAll('#network .network-silent[data-address]')].map((p) => p.dataset.address),
	})`, &page))
	rows = map[string]string{}
	for _, r := range page.Rows {
		rows[r[0]] = r[1]
	}
	sort.Strings(page.Silent)
	return rows, page.Silent, err
}
