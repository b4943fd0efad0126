// Package web serves Central's live panel, its JSON API, the health
// endpoints and the Prometheus metrics of a process (evsim, or evnode
// central) on one HTTP address.
//
// # Mounting it
//
// Build the server with New and start it; shut it down with the process:
//
//	status := &web.BridgeStatus{}                // Set by whoever receives *bridge.StateChanged
//	srv, err := web.New(web.Options{
//		Addr:          cfg.HTTP,                  // --http
//		Panel:         panel,                     // central.Panel of the running Central
//		Bridge:        status,                    // or web.BridgeFunc(func() (bridge.State, string) {...})
//		Run:           run,                       // the process's *stats.Run
//		OperatorToken: cfg.OperatorToken,         // --operator-token; "" = read-only
//		Logger:        logger,                    // lines carry component "Web"
//	})
//	if err != nil { ... }
//	if err := srv.Start(); err != nil { ... }  // returns once the port is open
//	defer srv.Shutdown(ctx)                    // ends live streams, then drains
//
// Handler returns the http.Handler for those who run their own http.Server;
// Registry the server's own Prometheus registry, for extra collectors.
//
// Telemetry lag needs no wiring here: Central records it in the shared
// stats.Run (Run.TelemetryLag.Observe), and /metrics reads it from there.
//
// # Endpoints
//
//	GET  /                          the live panel (HTML, JS and CSS embedded; no CDN)
//	GET  /api/chargepoints          [ChargePoint, ...] sorted by id; ?state=FAULT,STOPPED filters
//	GET  /api/chargepoints/{id}     ChargePoint, or 404 {"error": ...}
//	GET  /api/events?since=N&limit=M  [Event, ...] with seq > N (default 0), oldest first,
//	                                at most M (default 100, 1..1000); 400 on bad numbers
//	GET  /api/network               Network: totals, last_event, bridge, run counters, operator_enabled
//	GET  /api/cluster               ClusterView: central {address, instance, group}, nodes
//	                                [{address, charge_points, connected, last_seen}] by address
//	GET  /api/stream                server-sent events for the page (see below)
//	GET  /api/weather?history=N     WeatherList: per city the last reading, alert, reason, its charge
//	                                points (a count and the first 100 ids) and the N newest readings
//	                                (default 90, 0..360); 404 when
//	                                Central shows no weather (weather.go)
//	GET  /api/weather/{city}        CityWeather (the city's name in any case), or 404
//	GET  /healthz                   200 {"status":"ok","uptime_s":N} while the process runs
//	GET  /readyz                    200 Bridge once the Kafka bridge is ready, else 503 Bridge
//	GET  /metrics                   Prometheus text format
//	GET  /api/openapi.yaml          the OpenAPI document of all of this (openapi.yaml; the
//	                                tests hold it to the routes served, both ways)
//	GET  /api/series?after=SEQ      Series: the run's counters sampled every Options.SeriesInterval
//	                                (the panel's plots, plots.js)
//	GET  /driver                    the driver app (driver.html, driver.js)
//	GET  /api/drivers               DriverDirectory: "open" or "token", and the driver ids known
//	POST /api/drivers/{id}/requests {"cp_id"} -> 202 DriverRequest, through Options.Drivers    as driver
//	GET  /api/drivers/{id}/requests [DriverRequest, ...] newest first                        as driver
//	GET  /api/drivers/{id}/tickets  [Ticket, ...] from Options.Tickets, newest first         as driver
//	GET  /api/drivers/{id}/stream   server-sent events: requests, request, ticket, ping      as driver
//	POST /api/drivers/{id}/token    operator; DriverToken (driverauth.go says who acts as whom)
//	POST /api/chargepoints/{id}/stop|resume|ko|unko   operator
//	POST /api/stop-all, /api/resume-all                operator
//	POST /api/auth/check            operator; 204 when the token is right (the page asks before unlocking)
//
// Central's silence (a timeout of Options.RequestTimeout) answers 503 with
// {"error": "cannot reach Central: ..."}; so does a Central that has not
// started yet (PanelSlot, while the process waits for Kafka). Another method
// on an API path answers 405 with Allow; an unknown path 404. Every error
// body is {"error": sentence}.
//
// # Operator actions
//
// The operator endpoints need "Authorization: Bearer <token>" with
// Options.OperatorToken, compared in constant time: no header, another
// scheme or a wrong token answer 401 with WWW-Authenticate. With no token
// configured they answer 403: the panel is read-only. A success answers 200
// ActionResult; an unknown charge point 404; an action Central refuses 409
// with Central's sentence. Acting on a charge point that is already in the
// wanted state is a success with "affected": 0. Only a header carries the
// token, never a cookie, so another site cannot make a browser act.
//
// # JSON shapes
//
// ChargePoint:
//
//	{"id": "CP-001", "location": "Madrid · Gran Vía 30", "price_eur_per_kwh": 0.3, "rated_kw": 22,
//	 "state": "SUPPLYING", "colour": "green", "label": "Supplying", "reason": "",
//	 "since": "2026-11-26T21:00:00Z",
//	 "session": {"session_id": "S-1", "driver_id": "alice", "kw": 22, "kwh": 1.5, "eur": 0.45,
//	             "started_at": "2026-11-26T21:00:00Z"}}
//
// state is ACTIVATED, SUPPLYING, STOPPED, FAULT, DISCONNECTED, WAITING,
// REJECTED, REVOKED, UNREGISTERED or ENCRYPTION_ERROR (UNKNOWN for anything else); colour is
// green, green, orange, red, grey, grey, red, red, grey, red; label is what
// the panel writes ("Out of order" for STOPPED). session is null unless
// supplying; since and started_at are null when unknown. No personal data
// beyond the driver id is ever shown.
//
// Event: {"seq": 7, "at": time, "kind": "ticket", "cp_id": "CP-001", "driver_id": "alice", "text": sentence};
// kind is one of the central.Event* constants.
//
// Totals: {"charge_points": 5, "by_state": {"ACTIVATED": 3, ...all five...}, "active_supplies": 1,
// "kwh": 12.5, "eur": 3.75, "tickets": 4, "this_run": {"kwh": 2.5, "eur": 0.75, "tickets": 1}}.
// charge_points, by_state and active_supplies are counted from the charge point list; kwh, eur
// and tickets are Central's all-time figures (every ticket in its database, earlier runs on the
// same database included); this_run holds this process's. The page shows this run's figures
// large and the all-time ones below them, each labelled.
//
// Network: {"totals": Totals, "last_event": N, "bridge": Bridge, "run": stats.Summary, "operator_enabled": bool}.
//
// Bridge: {"state": "waiting"|"ready"|"outage"|"failed", "detail": "...", "ready": bool}.
//
// ActionResult: {"action": "stop"|"resume"|"ko"|"unko"|"stop-all"|"resume-all", "cp_id": "CP-001", "affected": 1}.
//
// # The live stream
//
// GET /api/stream is a server-sent events stream. The first message of each
// connection is "snapshot" (StreamSnapshot: charge_points, totals, the last
// Options.FeedSize events, last_event, operator_enabled, bridge); then
// "update" (StreamUpdate: the latest view of each charge point that changed
// and the new events, every Options.FlushInterval at most), "totals" after
// tickets, and "ping" every Options.PingInterval. The stream ends when
// Central's watch ends; while Central does not answer it sends one
// "unavailable" message and ends. Either way the browser's EventSource
// reconnects by itself and the new snapshot resyncs the page; the page also
// reopens the stream when pings stop. When Central restarts under a watch
// that goes on (a supervisor restarted the actor; the watch subscribes
// again), the stream notices that Central's event history started again (its
// oldest event, checked every Options.RestartCheckInterval, or an event number
// that goes back) and sends a new "snapshot" on the same connection. A
// snapshot also comes every Options.ResyncInterval as a safety net. The page
// treats every snapshot as the whole truth.
//
// One hub feeds every stream: one watch on Central and the same few
// questions to it however many browsers watch, each message encoded once.
// At most Options.MaxStreamClients streams are open (one more: 503 with
// Retry-After); a stream that falls Options.StreamQueue messages behind is
// dropped and its browser reconnects to a fresh snapshot. When a crowd of
// at least Options.ReleaseMemoryAfter streams has left, the server hands the
// memory back to the system.
//
// # Metrics
//
// /metrics serves the server's own registry (no global state): Go and
// process collectors, and
//
//	evsim_supplies_started_total, evsim_supplies_completed_total, evsim_supplies_interrupted_total,
//	evsim_tickets_total, evsim_energy_kwh_total, evsim_revenue_eur_total, evsim_faults_total,
//	evsim_actor_restarts_total, evsim_kafka_records_in_total, evsim_kafka_records_out_total,
//	evsim_kafka_records_bad_total, evsim_charge_requests_denied_total  (counters from stats.Run)
//	evsim_registered_charge_points, evsim_startup_seconds              (gauges from stats.Run)
//	evsim_telemetry_records_total, evsim_telemetry_lag_quantile_seconds{quantile="0.5|0.9|0.99"}
//	                                     (from stats.Run.TelemetryLag, a lock-free histogram of
//	                                      19 %-wide buckets: each quantile is its bucket's upper bound)
//	evsim_bridge_state{state="waiting|ready|outage|failed"} (1 for the current), evsim_bridge_ready
//	evsim_charge_points{state=...}, evsim_active_supplies, evsim_central_up (from a snapshot per scrape)
//	evsim_web_stream_clients (browsers on the live stream), evsim_web_streams_refused_total,
//	evsim_web_streams_dropped_total
//
// # The page
//
// One tile per charge point, coloured by state, with id, location, price and,
// while supplying, live kW, kWh, EUR and the driver id; a feed of recent
// events; network totals. A filter by state with counts and a search box
// keep 1,000 charge points usable; above 120 visible tiles the grid turns
// compact by itself. The page builds its DOM with textContent only, and the
// Content-Security-Policy forbids inline scripts. The operator token is kept
// in the tab's sessionStorage; without it the action buttons are hidden and
// disabled.
//
// Package webtest holds a fake Central for tests and demos.
package web
