package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// randomNonceGCM is the AEAD that sealed the records of earlier builds.
func randomNonceGCM(t *testing.T, k *Key) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// Records sealed before the Sealer (cipher.NewGCMWithRandomNonce) still
// open, and what Key.Seal and a Sealer write opens there: the bytes on
// Kafka did not change.
func TestSealedBytesAreThoseOfGCMWithRandomNonce(t *testing.T) {
	k := mustKey(t, "CP-001")
	old := randomNonceGCM(t, k)
	plain := []byte("a supply end of 12.345 kWh")
	aad := AppendAAD(nil, "cp.session_end", 9, k.ID, k.CPID)

	before := old.Seal(nil, nil, plain, aad)
	if got, err := k.Open(nil, before, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("a record of an earlier build: %q, %v", got, err)
	}
	inPlace := append([]byte(nil), before...)
	if got, err := k.Open(inPlace[:0], inPlace, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("opened in place: %q, %v", got, err)
	}
	if len(before) != len(plain)+k.Overhead() {
		t.Fatalf("overhead %d, the record has %d bytes more", k.Overhead(), len(before)-len(plain))
	}

	var s Sealer
	for name, sealed := range map[string][]byte{
		"Key.Seal": k.Seal([]byte("head"), plain, aad),
		"Sealer":   s.Seal(k, []byte("head"), plain, "cp.session_end", 9),
	} {
		if !bytes.HasPrefix(sealed, []byte("head")) {
			t.Fatalf("%s: dst not kept", name)
		}
		if got, err := old.Open(nil, nil, sealed[4:], aad); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: the earlier build cannot open it: %q, %v", name, got, err)
		}
	}
	// Sealed in place: the plaintext in the spare capacity of dst.
	buf := append(make([]byte, 0, 64), "head"...)
	buf = append(buf, plain...)
	sealed := s.Seal(k, buf[:4], buf[4:], "cp.session_end", 9)
	if &sealed[0] != &buf[0] {
		t.Fatal("sealing in place allocated")
	}
	if got, err := old.Open(nil, nil, sealed[4:], aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("sealed in place: %q, %v", got, err)
	}
	if _, err := k.Open(nil, sealed[4:], AppendAAD(nil, "cp.telemetry", 9, k.ID, k.CPID)); err != ErrOpen {
		t.Fatalf("opened under another topic's additional data: %v", err)
	}
}

// A Sealer's nonces come from a buffer refilled every 256 records: none
// repeats, across refills too.
func TestSealerNeverRepeatsANonce(t *testing.T) {
	k := mustKey(t, "CP-001")
	var s Sealer
	seen := map[string]bool{}
	for i := 0; i < 3*noncesPerRead+5; i++ {
		sealed := s.Seal(k, nil, []byte{byte(i)}, "cp.status", 10)
		nonce := string(sealed[:NonceSize])
		if seen[nonce] {
			t.Fatalf("record %d: nonce %x used before", i, nonce)
		}
		seen[nonce] = true
	}
}

// The additional data's bytes are part of the wire format: records sealed
// by earlier builds open only if they stay the same.
func TestAdditionalDataIsLengthPrefixedTopicKeyIDCPIDAndType(t *testing.T) {
	got := AppendAAD([]byte("x"), "cp.status", 10, "k-01", "CP-001")
	want := append([]byte("x\x09cp.status\x04k-01\x06CP-001"), 20) // 10 zigzag-encoded
	if !bytes.Equal(got, want) {
		t.Fatalf("additional data %q, want %q", got, want)
	}
}
