// Package seal holds the per-charge-point keys that encrypt the traffic
// between Central and each charge point on Kafka, and the master key that
// wraps them at rest.
//
// # Keys
//
// Central issues a charge point a Key (AES-256-GCM, a random 32-byte secret
// and a random id) once its monitor authenticated, and hands it over on the
// authenticated actor channel: the registration reply or a liveness ack to
// the monitor, then the monitor's health check to its engine. Every process
// keeps the keys it holds in a Keyring, which its bridge uses to seal and
// open records (bridge.Config.Keys): roles never see ciphertext.
//
// # Lifecycle
//
//	issue   Central makes a key at the first accepted registration and
//	        stages it (it opens, seals nothing); the engine's liveness
//	        naming it makes it current. A re-registration gets it back.
//	rotate  Central stages a new key the same way; once current, the
//	        previous one still opens (records in flight) until the next
//	        rotation or a revocation.
//	revoke  every key of the charge point is forgotten: its records are
//	        refused and nothing is sealed for it until a new key is issued.
//
// # Sealing
//
// A sealed envelope carries its type, key id and charge point id in clear;
// those and the record's topic are the AEAD's additional data (AAD), so a
// record moved to another key, charge point or topic fails to open. The
// nonce is 12 random bytes per record in front of the ciphertext (the
// layout of cipher.NewGCMWithRandomNonce); the bridge's Sealer reads them
// from crypto/rand for 256 records at once.
//
// # Master key
//
// Keys at rest (Central's database) are wrapped with a MasterKey (AES-256-GCM
// too, the charge point and key id as AAD), read from a flag, an environment
// variable or a file, never stored next to what it wraps in clear and never
// logged.
package seal
