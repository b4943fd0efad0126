package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/evcharging/evsim/messages"
)

// SecretSize is the size of a key's secret: AES-256.
const SecretSize = 32

// Key is one charge point's key, ready to seal and open.
type Key struct {
	CPID string
	ID   string
	// gcm takes its nonce from the caller: Seal writes a random one in
	// front of the ciphertext, as cipher.NewGCMWithRandomNonce does, and
	// a Sealer draws it from its buffer.
	gcm cipher.AEAD
	// secret is kept for handing the key over (Proto) and wrapping it.
	secret []byte
}

// NewKey makes a fresh random key for cpID.
func NewKey(cpID string) (*Key, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("new key for %s: %w", cpID, err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("new key id for %s: %w", cpID, err)
	}
	return FromSecret(cpID, "k-"+hex.EncodeToString(id), secret)
}

// FromSecret builds the key id of cpID from its secret.
func FromSecret(cpID, id string, secret []byte) (*Key, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("key %s of %s: secret has %d bytes, want %d", id, cpID, len(secret), SecretSize)
	}
	if id == "" || cpID == "" {
		return nil, fmt.Errorf("key of %q: empty key id or charge point id", cpID)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return &Key{CPID: cpID, ID: id, gcm: gcm, secret: append([]byte(nil), secret...)}, nil
}

// FromProto builds the key a ChargePointKey message carries.
func FromProto(m *messages.ChargePointKey) (*Key, error) {
	return FromSecret(m.GetCpId(), m.GetKeyId(), m.GetSecret())
}

// Proto is the key as the message that hands it over (authenticated channels only).
func (k *Key) Proto() *messages.ChargePointKey {
	return &messages.ChargePointKey{CpId: k.CPID, KeyId: k.ID, Secret: append([]byte(nil), k.secret...)}
}

// String names the key without its secret, so that a key printed by
// mistake shows nothing secret.
func (k *Key) String() string { return fmt.Sprintf("key %s of %s", k.ID, k.CPID) }

// NonceSize is the size of the random nonce in front of a ciphertext.
const NonceSize = 12

// Overhead is how many bytes sealing adds to a payload (nonce and tag).
func (k *Key) Overhead() int { return NonceSize + k.gcm.Overhead() }

// Seal appends the nonce and the ciphertext of plaintext to dst: the
// bytes cipher.NewGCMWithRandomNonce writes. plaintext may be the spare
// capacity of dst (sealed in place); it must not overlap aad.
func (k *Key) Seal(dst, plaintext, aad []byte) []byte {
	var nonce [NonceSize]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	return k.sealWith(nonce[:], dst, plaintext, aad)
}

// sealWith seals under nonce, which must never have sealed before.
func (k *Key) sealWith(nonce, dst, plaintext, aad []byte) []byte {
	n := len(plaintext)
	total := len(dst) + NonceSize + n + k.gcm.Overhead()
	out := dst
	if cap(out) < total {
		out = append(make([]byte, 0, total), dst...)
	}
	out = out[:total]
	sealed := out[len(dst):]
	// plaintext may be where the nonce goes (sealing in place): move it
	// behind the nonce first (copy is a memmove).
	copy(sealed[NonceSize:NonceSize+n], plaintext)
	copy(sealed[:NonceSize], nonce)
	k.gcm.Seal(sealed[NonceSize:NonceSize], sealed[:NonceSize], sealed[NonceSize:NonceSize+n], aad)
	return out
}

// Open appends the plaintext of sealed (nonce and ciphertext) to dst. dst
// may be sealed[:0] (opened in place); it must not overlap sealed otherwise.
func (k *Key) Open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < NonceSize+k.gcm.Overhead() {
		return nil, ErrOpen
	}
	var nonce [NonceSize]byte
	copy(nonce[:], sealed)
	ciphertext := sealed[NonceSize:]
	if len(dst) < cap(dst) && &dst[len(dst):cap(dst)][0] == &sealed[0] {
		// In place: open over the ciphertext, then move the plaintext
		// to where the nonce was (append is a memmove).
		plain, err := k.gcm.Open(ciphertext[:0], nonce[:], ciphertext, aad)
		if err != nil {
			return nil, ErrOpen
		}
		return append(dst, plain...), nil
	}
	out, err := k.gcm.Open(dst, nonce[:], ciphertext, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}

// AppendAAD appends the additional data of a sealed envelope: the topic,
// the message type, the key id and the charge point id, each length-prefixed
// so that no two different tuples give the same bytes.
func AppendAAD(b []byte, topic string, typ int32, keyID, cpID string) []byte {
	b = appendLengthPrefixed(b, topic)
	b = appendLengthPrefixed(b, keyID)
	b = appendLengthPrefixed(b, cpID)
	return binary.AppendVarint(b, int64(typ))
}

func appendLengthPrefixed(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}
