package main

import (
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/evcharging/evsim/internal/config"
)

// clientPingFloor is the least interval at which gRPC lets a client ping
// a server (it raises a shorter one to this).
const clientPingFloor = 10 * time.Second

// remoteOptions are protoactor remote's gRPC options for a node: its TLS
// identity (--tls-*) and how it keeps its links to peers (--remote-*).
// protoactor's WithDialOptions and WithServerOptions replace its lists,
// so every option goes in one call of each.
func remoteOptions(r *config.Remote, log *logrus.Entry) []remote.ConfigOption {
	dial, serve := remoteLinkOptions(r.Link)
	creds, serverCreds := remoteTLSCredentials(&r.TLS, log)
	if creds == nil {
		creds = grpc.WithTransportCredentials(insecure.NewCredentials()) // protoactor's default
	} else {
		serve = append(serve, serverCreds)
	}
	return []remote.ConfigOption{remote.WithDialOptions(append(dial, creds)...), remote.WithServerOptions(serve...)}
}

// remoteLinkOptions make a link cut silently (packets dropped, nothing
// refused) cost a few seconds after it heals, not TCP's retransmission
// back-off (which reaches 13 s after a 12 s cut, then 26 s):
//   - the keepalive timeout is also the connection's TCP_USER_TIMEOUT (gRPC
//     sets it), so a connection whose data goes unacknowledged for
//     l.Keepalive fails, and protoactor dials the peer again on its next
//     message; the pings find out a link that carries nothing;
//   - a dial into a cut link gives up after l.DialTimeout (gRPC's default
//     waits 20 s, with SYNs resent 1, 3, 7, 15 s after the first), and
//     gRPC waits at most that long between attempts;
//   - the server welcomes a peer's pings every clientPingFloor/2 or more
//     (even between calls), whatever the peer's --remote-keepalive:
//     stricter, it would close a link with GOAWAY "too_many_pings".
func remoteLinkOptions(l config.RemoteLink) ([]grpc.DialOption, []grpc.ServerOption) {
	retry := backoff.DefaultConfig
	retry.MaxDelay = l.DialTimeout
	retry.BaseDelay = min(retry.BaseDelay, l.DialTimeout)
	return []grpc.DialOption{
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: max(l.Keepalive, clientPingFloor), Timeout: l.Keepalive, PermitWithoutStream: true}),
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: retry, MinConnectTimeout: l.DialTimeout}),
		}, []grpc.ServerOption{
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: l.Keepalive, Timeout: l.Keepalive}),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: clientPingFloor / 2, PermitWithoutStream: true}),
		}
}
