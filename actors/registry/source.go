package registry

import "net"

// sourceHost is the host part of a peer address: a client's port changes
// with every connection, its address does not.
func sourceHost(source string) string {
	if h, _, err := net.SplitHostPort(source); err == nil {
		return h
	}
	return source
}
