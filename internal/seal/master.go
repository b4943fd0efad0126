package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MasterKey wraps charge point keys for storage. It never prints its secret.
type MasterKey struct {
	aead cipher.AEAD
	// ID names the master key in stored rows (a hash prefix, not the
	// secret), so a database opened with another master key says so.
	ID string
}

// ParseMasterKey reads a master key written as 64 hex digits or as base64
// of 32 bytes (surrounding blanks ignored).
func ParseMasterKey(text string) (*MasterKey, error) {
	text = strings.TrimSpace(text)
	var secret []byte
	if b, err := hex.DecodeString(text); err == nil && len(b) == SecretSize {
		secret = b
	} else if b, err := base64.StdEncoding.DecodeString(text); err == nil && len(b) == SecretSize {
		secret = b
	} else {
		return nil, ErrBadMasterKey
	}
	return newMasterKey(secret)
}

// ReadMasterKeyFile reads a master key file (see ParseMasterKey).
func ReadMasterKeyFile(path string) (*MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	mk, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return mk, nil
}

// LoadOrCreateMasterKeyFile reads the master key file at path, or creates
// it (mode 0600, a fresh random key) when it does not exist. created says
// which.
func LoadOrCreateMasterKeyFile(path string) (mk *MasterKey, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		mk, err := ReadMasterKeyFile(path)
		return mk, false, err
	}
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("new master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("master key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(secret) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("write master key file: %w", werr)
	}
	mk, err = newMasterKey(secret)
	return mk, true, err
}

// NewEphemeralMasterKey is a random master key that lives as long as the
// process (a database in memory keeps nothing anyway).
func NewEphemeralMasterKey() (*MasterKey, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("new master key: %w", err)
	}
	return newMasterKey(secret)
}

func newMasterKey(secret []byte) (*MasterKey, error) {
	aead, err := newAEAD(secret)
	if err != nil {
		return nil, err
	}
	id, err := masterKeyID(secret)
	if err != nil {
		return nil, err
	}
	return &MasterKey{aead: aead, ID: id}, nil
}

// masterKeyID names a master key without revealing it: the first bytes of
// an AES block of zeros encrypted with it.
func masterKeyID(secret []byte) (string, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return "", fmt.Errorf("aes: %w", err)
	}
	out := make([]byte, aes.BlockSize)
	block.Encrypt(out, make([]byte, aes.BlockSize))
	return "mk-" + hex.EncodeToString(out[:6]), nil
}

// String hides the secret.
func (m *MasterKey) String() string { return "master key " + m.ID }

func wrapAAD(cpID, keyID string) []byte { return AppendAAD(nil, "wrapped-key", 0, keyID, cpID) }

// Wrap seals k's secret for storage.
func (m *MasterKey) Wrap(k *Key) []byte {
	return m.aead.Seal(nil, nil, k.secret, wrapAAD(k.CPID, k.ID))
}

// Unwrap opens a wrapped secret of keyID of cpID.
func (m *MasterKey) Unwrap(cpID, keyID string, wrapped []byte) (*Key, error) {
	secret, err := m.aead.Open(nil, nil, wrapped, wrapAAD(cpID, keyID))
	if err != nil {
		return nil, fmt.Errorf("unwrap key %s of %s with %s: wrong master key or altered row", keyID, cpID, m.ID)
	}
	return FromSecret(cpID, keyID, secret)
}
