package testutil

import (
	"net"
	"sync"
	"testing"
)

// handedOut remembers every address FreeAddr gave in this test binary: a
// port closed after the probe can be handed out by the kernel again, and two
// servers of one test must not get the same one (that once gave two
// monitors one port in CI).
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// FreeAddr returns a loopback HOST:PORT that was free a moment ago and that
// no earlier call in this test binary returned.
func FreeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no fresh free port after 100 tries")
	return ""
}
