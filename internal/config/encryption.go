package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/evcharging/evsim/internal/seal"
)

// Encryption modes (--encryption).
const (
	EncryptionOn  = "on"
	EncryptionOff = "off"
)

// Encryption is whether a process seals the traffic between Central and
// each charge point on Kafka with that charge point's key, and (where
// Central runs) the master key that wraps the keys Central stores.
type Encryption struct {
	// Mode is on (default) or off (records in clear, e.g. to read them
	// with kcat while debugging).
	Mode string
	// MasterKey is the master key itself (64 hex digits or base64 of 32
	// bytes), from --master-key or EVSIM_MASTER_KEY. Never printed.
	MasterKey string
	// MasterKeyFile is a file holding the master key; when it does not
	// exist it is created with a new random key (mode 0600). Default: beside
	// the database (<db>-master.key); none with --db :memory: (a key for
	// the process's life).
	MasterKeyFile string
}

// On says whether records are sealed.
func (e *Encryption) On() bool { return e.Mode != EncryptionOff }

// addEncryptionFlags registers --encryption and, where Central runs
// (withMaster), the master key flags.
func addEncryptionFlags(fs *FlagSet, e *Encryption, withMaster bool) {
	fs.String(&e.Mode, "encryption", "", EncryptionOn, "seal the traffic between Central and each charge point with the charge point's own key: on, or off (records in clear, for debugging with kcat; set it alike on every process)")
	if !withMaster {
		return
	}
	fs.String(&e.MasterKey, "master-key", "", "", "the master key that wraps the charge points' keys in Central's database: 64 hex digits or base64 of 32 bytes (prefer the variable or --master-key-file)")
	fs.String(&e.MasterKeyFile, "master-key-file", "", "", "file holding the master key (created with a random key if missing); default beside --db (<db>-master.key), none with --db :memory:")
}

// AddEncryptionFlags registers the encryption flags for a command that is
// not evsim's or evnode's (tests, tools).
func AddEncryptionFlags(fs *FlagSet, e *Encryption, withMaster bool) {
	addEncryptionFlags(fs, e, withMaster)
}

func (e *Encryption) validate() error {
	switch {
	case e.Mode != EncryptionOn && e.Mode != EncryptionOff:
		return Usagef("encryption", "%q is not on or off", e.Mode)
	case e.MasterKey != "" && e.MasterKeyFile != "":
		return Usagef("master-key", "give the master key or --master-key-file, not both")
	}
	if e.MasterKey != "" {
		if _, err := seal.ParseMasterKey(e.MasterKey); err != nil {
			return Usagef("master-key", "%v", err) // never the value itself
		}
	}
	return nil
}

// LoadMasterKey returns the master key for a Central whose database is db,
// and says where it came from (for one INFO line; never the key).
func (e *Encryption) LoadMasterKey(db string) (*seal.MasterKey, string, error) {
	switch {
	case e.MasterKey != "":
		mk, err := seal.ParseMasterKey(e.MasterKey)
		return mk, "from --master-key", err
	case e.MasterKeyFile == "" && db == ":memory:":
		mk, err := seal.NewEphemeralMasterKey()
		return mk, "for this run only (the database is in memory)", err
	}
	path := e.MasterKeyFile
	if path == "" {
		path = strings.TrimSuffix(db, filepath.Ext(db)) + "-master.key"
	}
	mk, created, err := seal.LoadOrCreateMasterKeyFile(path)
	if err != nil {
		if errors.Is(err, seal.ErrBadMasterKey) {
			return nil, "", Usagef("master-key-file", "%s: %v", path, seal.ErrBadMasterKey)
		}
		return nil, "", fmt.Errorf("master key: %w", err)
	}
	if created {
		return mk, "new, written to " + path, nil
	}
	return mk, "from " + path, nil
}
