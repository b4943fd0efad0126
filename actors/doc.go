// Package actors is the charging network as supervised protoactor actors,
// one folder per role. It holds no code itself; this comment is the map.
//
// # Roles
//
//   - central: the controller. Registry of charge points in SQLite
//     (internal/store), monitor authentication (a salted hash of each charge
//     point's secret; a new charge point joins with the secret it first
//     presents unless Config.ClosedRegistration), authorisation with a reason
//     for every denial, commands to engines, tickets (one per session, kept in
//     the store), operator stop/resume/KO, the panel state derived from
//     monitor and engine, a bounded event history and watchers. Panel
//     (central.NewPanel) is the same surface for code that is not an actor.
//     With Config.Tokens it accepts only the Registry's tokens instead,
//     verified offline against the registry topic (security.go).
//   - registry: the Registry of charge points (credentials bcrypt-hashed,
//     EdDSA tokens with a token version, throttled guessing, revocation) and
//     the Verifier Central uses; registry/httpapi serves it over HTTPS with
//     its OpenAPI document, and is the client monitors use.
//   - chargepoint: the engine. A state machine (Machine) journalled after
//     every change (Journal: MemoryJournal in one process, FileJournal where
//     the process can be killed), so that a crashed engine reports the
//     supply it interrupted (reason ENGINE_RESTART) and never a different
//     end for the same session.
//   - monitor: registers its charge point, checks its engine every interval
//     with a timeout and reports a fault at the first missed or KO answer,
//     and the recovery; sends Central a sign of life every interval.
//   - driver: asks for supplies from a list, sees every step, pauses between
//     requests, and keeps its position in a Progress so that after a restart
//     it waits for the result of the supply that went on without it.
//   - supervision: a Supervisor actor that owns named children and is their
//     strategy: restarts within a budget with a doubling back-off, one WARN
//     line per failure, the stack at DEBUG, then stops the child for good.
//   - network: builds the whole network in one process as one tree and
//     exposes the run-time hooks (crash an engine, stop a monitor, restart a
//     driver or Central, add parts) and an ordered shutdown.
//
// # Transports
//
// Roles talk to PIDs, never to each other's structs. Monitor<->engine and
// monitor<->Central messages are protobuf types from messages/
// (HealthCheck/HealthAnswer, RegisterChargePoint/RegistrationResult,
// Liveness/LivenessAck, FaultReport) and work over protoactor remote as
// they do locally. Everything else goes through the bridge actor and Kafka:
// drivers publish on driver.requests and read driver.updates and
// driver.tickets (key: driver id); Central reads driver.requests, cp.status,
// cp.telemetry and cp.session_end and publishes central.commands (key: cp id)
// and the driver topics; engines read central.commands and publish cp.*.
// Every handler is idempotent (Kafka delivers at least once) and calls
// Delivery.Done in a defer.
//
// # The tree in one process
//
//	evsim (Supervisor)
//	├── central
//	├── cp-CP-001 (Supervisor)  ── engine, monitor
//	├── ...
//	└── drivers (Supervisor)    ── alice, bob, ...
//
// The bridge is started (and awaited) by main before the network and stopped
// after it, so that what Central sends last still reaches Kafka.
//
// # protoactor facts this code relies on
//
//   - actor.WithSupervisor applies to an actor's children; an actor spawned
//     from the root falls under the guardian's default strategy. A parent
//     actor that implements actor.SupervisorStrategy is asked first, in its
//     own mailbox goroutine: our Supervisor is that parent.
//   - NewExponentialBackoffStrategy grows linearly and never gives up; our
//     budget doubles up to a cap and stops the child after N failures in a
//     window.
//   - A panic's stack is gone once protoactor's mailbox recovers it:
//     supervision.CaptureStack (a receiver middleware) keeps it in the
//     failure reason so the supervisor can log it at DEBUG.
//   - A restarted actor keeps its PID and mailbox; timers of the old
//     incarnation are cancelled on *actor.Restarting (internal/timer).
//   - A request to a stopped actor is answered with *actor.DeadLetterResponse;
//     Panel turns that into ErrNotAnswering.
package actors
