package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// credentialPrefix marks a charge point credential, so a leaked one is
// recognisable in a log or a paste.
const credentialPrefix = "cpc_"

// newCredential is 32 random bytes, base64url: 256 bits no one guesses.
func newCredential() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a credential: %w", err)
	}
	return credentialPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func hashCredential(credential string, cost int) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(credential), cost)
	if err != nil {
		return nil, fmt.Errorf("hash a credential: %w", err)
	}
	return h, nil
}

// credentialMatches compares in constant time (bcrypt's comparison).
func credentialMatches(hash []byte, credential string) bool {
	if len(credential) > 72 { // bcrypt reads 72 bytes; a longer one is not ours
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(credential)) == nil
}

// adminTokenMatches compares the digests in constant time, so neither the
// content nor the length of the admin token leaks through timing.
func adminTokenMatches(want, got string) bool {
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateID says whether id may name a charge point.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return invalidf("id %q must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

func validateRegistration(g Registration) error {
	if err := ValidateID(g.ID); err != nil {
		return err
	}
	loc := strings.TrimSpace(g.Location)
	if loc == "" || len(loc) > 128 {
		return invalidf("location must be 1 to 128 characters")
	}
	if strings.IndexFunc(loc, unicode.IsControl) >= 0 {
		return invalidf("location must not hold control characters")
	}
	if math.IsNaN(g.PriceEURPerKWh) || g.PriceEURPerKWh < 0 || g.PriceEURPerKWh > 100 {
		return invalidf("price_eur_kwh %v must be from 0 to 100", g.PriceEURPerKWh)
	}
	return nil
}
