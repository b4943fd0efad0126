package seal

import "crypto/rand"

// noncesPerRead is how many nonces a Sealer draws from crypto/rand at once.
const noncesPerRead = 256

// Sealer seals records for one goroutine (the bridge's encoder) at less
// cost per record than Key.Seal: its nonces are random bytes read from
// crypto/rand for 256 records at once (a read per record cost 50-140 ns,
// as much as AES-GCM itself), each used once, and it builds the additional data in a
// buffer it reuses (passed to the AEAD, a stack buffer would escape: one
// allocation per record). The bytes are those of Key.Seal. Not safe for
// concurrent use; the zero value is ready.
type Sealer struct {
	nonces [noncesPerRead * NonceSize]byte
	next   int // nonces[next:] are unused, once filled
	filled bool
	aad    []byte
}

// Seal appends the nonce and the ciphertext of plaintext, sealed with k
// for a record of type typ on topic, to dst; plaintext may be the spare
// capacity of dst (sealed in place).
func (s *Sealer) Seal(k *Key, dst, plaintext []byte, topic string, typ int32) []byte {
	s.aad = AppendAAD(s.aad[:0], topic, typ, k.ID, k.CPID)
	return k.sealWith(s.nonce(), dst, plaintext, s.aad)
}

// nonce is the next unused nonce; the slice is valid until the next call.
func (s *Sealer) nonce() []byte {
	if !s.filled || s.next == len(s.nonces) {
		_, _ = rand.Read(s.nonces[:]) // never fails (crypto/rand)
		s.next, s.filled = 0, true
	}
	n := s.nonces[s.next : s.next+NonceSize]
	s.next += NonceSize
	return n
}
