// Package registry is the Registry of charge points: who may join the
// network, with which credential, and which of their tokens Central accepts.
//
// # State and its owner
//
// One goroutine owns the state (the charge points, the failure counters
// that throttle guessing), the way an actor does; every call sends it a
// function and waits. Slow work — bcrypt hashing and comparing — runs on the
// caller's goroutine, outside the owner, so one guesser does not stall the
// others.
//
// # Credentials and tokens
//
// A registration answers a random credential once; only its bcrypt hash is
// kept. A charge point exchanges its credential for a short-lived token: a
// JWT signed with the Registry's Ed25519 key (EdDSA), with the audience
// Central checks, an expiry and the charge point's token version. Every
// change of a charge point (registration, rotation, revocation,
// deregistration) raises its token version, so a token issued before the
// change is refused after it.
//
// # Central verifies offline
//
// Each change and the public key are published (Options.Publish) as
// messages.ChargePointIdentity and messages.RegistryKey on the compacted
// topic registry.changes. A Verifier built from those records checks a token
// without calling the Registry: signature, issuer, audience, expiry, and
// that the charge point is registered with that token version.
package registry
