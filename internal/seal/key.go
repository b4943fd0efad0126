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
	aead cipher.AEAD
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
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	return &Key{CPID: cpID, ID: id, aead: aead, secret: append([]byte(nil), secret...)}, nil
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

// Overhead is how many bytes sealing adds to a payload (nonce and tag).
func (k *Key) Overhead() int { return k.aead.NonceSize() + k.aead.Overhead() }

// Seal appends the nonce and the ciphertext of plaintext to dst.
func (k *Key) Seal(dst, plaintext, aad []byte) []byte {
	return k.aead.Seal(dst, nil, plaintext, aad)
}

// Open appends the plaintext of sealed (nonce and ciphertext) to dst.
func (k *Key) Open(dst, sealed, aad []byte) ([]byte, error) {
	out, err := k.aead.Open(dst, nil, sealed, aad)
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
	for _, s := range []string{topic, keyID, cpID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return binary.AppendVarint(b, int64(typ))
}
