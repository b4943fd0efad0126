package web

import "testing"

// A member's panel is linked where a browser reaches it: its --http address,
// or, when that listens on every interface, the host of its actor remote.
func TestPanelURLOfAMember(t *testing.T) {
	for _, c := range []struct{ http, remote, want string }{
		{"127.0.0.1:8081", "127.0.0.1:8091", "http://127.0.0.1:8081/"},
		{"0.0.0.0:8080", "central-2:8090", "http://central-2:8080/"},
		{":8080", "10.0.0.7:8090", "http://10.0.0.7:8080/"},
		{"[::]:8080", "[fd00::7]:8090", "http://[fd00::7]:8080/"},
		{"0.0.0.0:8080", "0.0.0.0:8090", ""}, // nowhere known
		{"0.0.0.0:8080", "local", ""},
		{"", "127.0.0.1:8091", ""}, // serves no panel
		{"no-port", "127.0.0.1:8091", ""},
	} {
		if got := panelURL(c.http, c.remote); got != c.want {
			t.Errorf("panelURL(%q, %q) = %q, want %q", c.http, c.remote, got, c.want)
		}
	}
}
