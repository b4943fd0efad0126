package config

import "time"

// RemoteLink is how a node's actor remote (gRPC) treats its connections to
// peers. Without it a link cut silently (packets dropped, nothing refused)
// keeps a connection that looks alive while TCP retransmits with a growing
// back-off, and a healed link can wait that back-off out: up to tens of
// seconds before a peer hears this node again.
type RemoteLink struct {
	// Keepalive is how long a connection may leave data unacknowledged, or
	// a ping unanswered, before it is dropped and dialled again; each side
	// pings a peer it has not heard from for this long (gRPC pings a server
	// at most every 10 s). Default 3 s.
	Keepalive time.Duration
	// DialTimeout bounds one attempt to connect to a peer, and the pause
	// between attempts, so that a peer back on the network is dialled
	// again within about this long. Default 2 s.
	DialTimeout time.Duration
}

// Defaults of RemoteLink.
const (
	DefaultRemoteKeepalive   = 3 * time.Second
	DefaultRemoteDialTimeout = 2 * time.Second
	// minRemoteLinkTiming is the least either may be: gRPC pings no more
	// often than once a second, and a connection (with its TLS handshake)
	// needs some time on a loaded machine.
	minRemoteLinkTiming = time.Second
)

// addRemoteLinkFlags registers --remote-keepalive and --remote-dial-timeout.
func addRemoteLinkFlags(fs *FlagSet, l *RemoteLink) {
	fs.Duration(&l.Keepalive, "remote-keepalive", "", DefaultRemoteKeepalive,
		"drop a connection to a peer (actor remote) that acknowledges nothing for this long, and dial it again")
	fs.Duration(&l.DialTimeout, "remote-dial-timeout", "", DefaultRemoteDialTimeout,
		"bound one attempt to connect to a peer (actor remote) and the pause between attempts")
}

// Validate checks the link's timings.
func (l *RemoteLink) Validate() error {
	if l.Keepalive < minRemoteLinkTiming {
		return Usagef("remote-keepalive", "%v is less than %v", l.Keepalive, minRemoteLinkTiming)
	}
	if l.DialTimeout < minRemoteLinkTiming {
		return Usagef("remote-dial-timeout", "%v is less than %v", l.DialTimeout, minRemoteLinkTiming)
	}
	return nil
}
