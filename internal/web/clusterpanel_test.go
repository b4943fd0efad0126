package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The panel of a Central that shares nothing (evsim) looks as it always
// did: its page asks /api/cluster once, learns the Central is not shared,
// and the share view stays hidden.
func TestBrowserPanelOfOneCentralShowsNoShare(t *testing.T) {
	chrome := findChromium(t)
	_, r := realNetwork(t, nil, "CP-001", "CP-002")
	ctx := browser(t, chrome, 60*time.Second)
	var share string
	var hidden bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(r.http.URL+"/"),
		chromedp.WaitVisible(`#grid .tile[data-id="CP-002"]`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('share').dataset.share || ''`, &share, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.getElementById('share').hidden && document.getElementById('share').childElementCount === 0`, &hidden),
	)
	if err != nil {
		t.Fatalf("panel: %v", err)
	}
	if share != "none" || !hidden {
		t.Errorf("share view of one Central: data-share %q, hidden and empty %v; want none, true", share, hidden)
	}
}
