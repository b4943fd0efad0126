package config

// AddStreamFlags registers the web panel's live-stream bounds, shared by
// evsim and evnode central.
func AddStreamFlags(fs *FlagSet, maxStreams, queue *int) {
	fs.Int(maxStreams, "http-max-streams", "", 500, "live streams (/api/stream) served at once; one more is answered 503 with Retry-After")
	fs.Int(queue, "http-stream-queue", "", 64, "messages a live stream may fall behind before it is dropped (its browser reconnects)")
}

// ValidateStreams checks the live-stream bounds.
func ValidateStreams(maxStreams, queue int) error {
	switch {
	case maxStreams < 1:
		return Usagef("http-max-streams", "%d must be at least 1", maxStreams)
	case queue < 1:
		return Usagef("http-stream-queue", "%d must be at least 1", queue)
	}
	return nil
}
