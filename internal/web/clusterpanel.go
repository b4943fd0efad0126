package web

import (
	"net"
	"net/url"
)

// panelURL is where another Central's panel is reached: "http://" + the web
// address it listens on. A Central listening on every interface
// (--http 0.0.0.0:8080, or :8080) says nothing about where it is, so its
// host is taken from its actor remote's advertised address, which the
// group's members reach it by. "" when it serves no panel.
func panelURL(httpAddr, remoteAddr string) string {
	if httpAddr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		rhost, _, err := net.SplitHostPort(remoteAddr)
		if err != nil || rhost == "" {
			return ""
		}
		if rip := net.ParseIP(rhost); rip != nil && rip.IsUnspecified() {
			return ""
		}
		host = rhost
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/"}
	return u.String()
}
