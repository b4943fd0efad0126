package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPanelOfASharedGroupSaysWhichPartAndLinksTheRest runs two
// `evnode central --shared-group` of one group on the embedded broker and a
// site node of 8 charge points, and looks at their panels in headless
// Chromium. Each panel says which partitions of how many its Central owns
// and how many charge points it shows, and links to the other member's
// panel; following the link shows the other panel, which links back. The
// open page follows rebalances without a reload: a third Central joins (a
// link to it appears), is killed with kill -9 (its link goes once the
// others own its partitions), and a clean stop of the first leaves the
// second owning all partitions, with every charge point and no link.
func TestPanelOfASharedGroupSaysWhichPartAndLinksTheRest(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes and a browser, about a minute")
	}
	chrome := chromium(t)
	g := startPanelGroup(t, "SP-%03d", 3, 2, 8, "--group-session-timeout", "2s")
	s := g.siteRun

	ctx := chromiumTab(t, chrome, 4*time.Minute)
	share := func(i int) func() (bool, string) { return g.panelSays(ctx, i) }
	if err := chromedp.Run(ctx, chromedp.Navigate("http://"+g.https[0]+"/")); err != nil {
		t.Fatalf("opening central-1's panel: %v", err)
	}
	s.eventually(20*time.Second, "central-1's panel says its share and links central-2", share(0))

	// Following the link opens central-2's panel, which links back.
	if err := chromedp.Run(ctx, chromedp.Click(`#share li[data-address="`+g.remotes[1]+`"] a`, chromedp.ByQuery)); err != nil {
		t.Fatalf("following the link to central-2: %v", err)
	}
	s.eventually(20*time.Second, "the link opened central-2's panel, which says its share and links central-1", share(1))

	// A third Central joins: the open page links it without a reload.
	s.start("central-3")
	s.eventually(60*time.Second, "three Centrals share the partitions", func() (bool, string) {
		ok, seen, _ := g.owners(1, g.remotes)
		return ok, seen
	})
	s.eventually(20*time.Second, "central-2's page links central-1 and central-3", share(1))
	screenshot(t, ctx, "shared-panel-of-three.png")

	// kill -9 of the third: its partitions move, its link goes.
	s.kill("central-3")
	s.eventually(60*time.Second, "two Centrals own every partition again", func() (bool, string) {
		ok, seen, _ := g.owners(1, g.remotes[:2])
		return ok, seen
	})
	s.eventually(20*time.Second, "central-2's page links only central-1", share(1))

	// A clean stop of the first: the second owns the whole network.
	if code := s.stop("central-1", 20*time.Second); code != 0 {
		t.Errorf("central-1 stopped with exit code %d", code)
	}
	s.eventually(60*time.Second, "central-2 owns every partition", func() (bool, string) {
		ok, seen, _ := g.owners(1, g.remotes[1:2])
		return ok, seen
	})
	s.eventually(20*time.Second, "central-2's page says it shows all charge points, and links none", share(1))
	screenshot(t, ctx, "shared-panel-alone.png")
}

// screenshot keeps the page's picture in $EVSIM_E2E_ARTIFACTS, when set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("EVSIM_E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// startPanelGroup runs the embedded broker, `centrals` evnode Centrals of
// one shared group (each with extra), of which the first `start` are
// started, and a site node of cps charge points that knows them all; it
// returns once those Centrals share the partitions and every charge point
// is ACTIVATED at one of them.
func startPanelGroup(t *testing.T, pattern string, centrals, start, cps int, extra ...string) *groupRun {
	t.Helper()
	s := &siteRun{harness: newHarness(t), pattern: pattern}
	g := &groupRun{siteRun: s}
	s.brokers = freeAddr(t)
	s.add("broker", nil, "broker", "--listen", s.brokers, "--data-dir", filepath.Join(s.dir, "kafka"))
	s.start("broker")
	env := append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=off")
	for i := 0; i < centrals; i++ {
		name := fmt.Sprintf("central-%d", i+1)
		remote, web := freeAddr(t), freeAddr(t)
		g.names, g.remotes, g.https = append(g.names, name), append(g.remotes, remote), append(g.https, web)
		args := []string{"central", "--shared-group", "--group", "panels", "--listen", remote, "--http", web,
			"--db", filepath.Join(s.dir, name+".db"), "--liveness-timeout", "3s"}
		s.add(name, env, append(args, extra...)...)
	}
	s.nodes[0] = freeAddr(t)
	s.add("site", env, "site", "--central", strings.Join(g.remotes, ","), "--listen", s.nodes[0],
		"--first", "1", "--count", fmt.Sprint(cps), "--id-pattern", s.pattern,
		"--key-file", filepath.Join(s.dir, "site.key"), "--journal-dir", filepath.Join(s.dir, "site-engines"))
	if out, err := exec.Command(s.bin, "wait-kafka", "--brokers", s.brokers, "--kafka-wait-attempts", "100", "--kafka-wait-seconds", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("Kafka at %s: %v\n%s", s.brokers, err, out)
	}
	var all []string
	for n := 1; n <= cps; n++ {
		all = append(all, s.cp(n))
	}
	for _, n := range append(slices.Clone(g.names[:start]), "site") {
		s.start(n)
	}
	s.eventually(90*time.Second, "the Centrals share the partitions", func() (bool, string) {
		ok, seen, _ := g.owners(0, g.remotes[:start])
		return ok, seen
	})
	s.eventually(90*time.Second, "all charge points ACTIVATED, each at one Central", func() (bool, string) {
		return g.allIn(all, "ACTIVATED", "SUPPLYING")
	})
	return g
}

// panelSays compares what the open page's share view says with what
// Central i's /api/cluster and /api/chargepoints say: the partitions it owns
// of how many, the count of charge points it shows, and a link to the panel
// of every other member of the latest assignment (and no other link), and
// a tile for each charge point it shows, no more.
func (g *groupRun) panelSays(ctx context.Context, i int) func() (bool, string) {
	return func() (bool, string) {
		var c struct {
			Central struct {
				Shared         bool  `json:"shared"`
				PartitionCount int32 `json:"partition_count"`
				ChargePoints   int   `json:"charge_points"`
			} `json:"central"`
			Members []struct {
				clusterMember
				PanelURL string `json:"panel_url"`
			} `json:"members"`
		}
		if err := getJSON("http://"+g.https[i]+"/api/cluster", &c); err != nil {
			return false, err.Error()
		}
		var page struct {
			URL, Text string
			Links     []string
			Tiles     []string
		}
		err := chromedp.Run(ctx, chromedp.Evaluate(`({
			url: location.href,
			text: (document.getElementById('share') || {}).hidden === false ? document.getElementById('share').innerText : '',
			links: [...document.querySelectorAll('#share a')].map((a) => a.href),
			tiles: [...document.querySelectorAll('#grid .tile')].map((t) => t.dataset.id),
		})`, &page))
		if err != nil {
			return false, err.Error()
		}
		if page.URL != "http://"+g.https[i]+"/" {
			return false, "the page is " + page.URL
		}
		top := int32(-1)
		for _, m := range c.Members {
			if !m.Left {
				top = max(top, m.Generation)
			}
		}
		var own []int32
		var want []string
		for _, m := range c.Members {
			switch {
			case m.Self:
				own = slices.Clone(m.Partitions)
			case !m.Left && m.Generation == top && len(m.Partitions) > 0:
				want = append(want, m.PanelURL)
			}
		}
		sort.Slice(own, func(a, b int) bool { return own[a] < own[b] })
		var says string
		if len(own) == int(c.Central.PartitionCount) {
			says = fmt.Sprintf("owns all %d partitions: all %d charge points", c.Central.PartitionCount, c.Central.ChargePoints)
		} else {
			ps := make([]string, len(own))
			for k, p := range own {
				ps[k] = fmt.Sprint(p)
			}
			says = fmt.Sprintf("owns partitions %s of %d: %d charge points", strings.Join(ps, ", "), c.Central.PartitionCount, c.Central.ChargePoints)
		}
		sort.Strings(want)
		links := slices.Clone(page.Links)
		sort.Strings(links)
		// The tiles are the charge points this Central shows, no more (none
		// of those it lost in a rebalance).
		var shown []string
		for id := range chargePoints(g.https[i]) {
			shown = append(shown, id)
		}
		sort.Strings(shown)
		tiles := slices.Clone(page.Tiles)
		sort.Strings(tiles)
		ok := c.Central.Shared && len(own) > 0 && strings.Contains(page.Text, says) && slices.Equal(links, want) && !slices.Contains(want, "") &&
			len(shown) == c.Central.ChargePoints && slices.Equal(tiles, shown)
		return ok, fmt.Sprintf("page %q with links %v and tiles %v; want it to say %q, link %v and show %v", page.Text, page.Links, tiles, says, want, shown)
	}
}

// chromium is Debian's Chromium, or the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: no Chromium found (install Debian's chromium package, e.g. with scripts/setup.sh)")
	return ""
}

// chromiumTab starts a headless Chromium and returns a tab's context.
func chromiumTab(t *testing.T, chrome string, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	return ctx
}
