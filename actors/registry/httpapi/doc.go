// Package httpapi serves the Registry's REST API over HTTPS: registration,
// deregistration, a paged list, tokens, revocation, the public keys, the
// audit log and its verification, and the OpenAPI document that describes
// them all (GET /openapi.yaml).
//
// Operator calls carry the admin token as "Authorization: Bearer T"; a
// charge point's call (POST /v1/tokens) carries its credential in the body.
// Every answer carries an X-Request-Id (the client's, when it sent a sane
// one), which the audit log records too. Bodies are JSON, at most 4 KiB,
// with no unknown fields.
package httpapi
