package config

import (
	"strconv"
	"strings"
)

// Certs is the configuration of `evnode certs`: a one-shot step of a
// secured deployment that makes a CA and a certificate per service, and
// Kafka's PEM keystore, in one folder (a volume the services mount).
type Certs struct {
	Log Log
	// Out is the folder written.
	Out string
	// Services get NAME.crt and NAME.key each, valid for NAME, localhost,
	// 127.0.0.1 and Hosts.
	Services []string
	// Hosts are more names or addresses every certificate is valid for
	// (the hosts peers on other machines dial).
	Hosts []string
	// Keystore is the service whose key and certificate are also written
	// together as NAME.pem (Kafka's PEM keystore); empty = none.
	Keystore string
	// Owner and KeystoreOwner own the files when set (UID:GID; the step
	// then runs as root): the evnode user, and Kafka's.
	Owner, KeystoreOwner Owner

	services, hosts, owner, keystoreOwner string
}

// Owner is a UID:GID; Set is false when none was given.
type Owner struct {
	UID, GID int
	Set      bool
}

// CertsFlags registers every flag of `evnode certs` on a new FlagSet.
func CertsFlags(c *Certs) *FlagSet {
	fs := NewFlagSet("evnode certs")
	AddLogFlags(fs, &c.Log)
	fs.String(&c.Out, "out", "", DefaultNodeDataDir+"/certs", "folder of ca.crt, NAME.crt, NAME.key (mode 0600) and the keystore")
	fs.String(&c.services, "services", "", "", "the services that get a certificate, separated by ',' (e.g. 'kafka,central,engine-cp-001')")
	fs.String(&c.hosts, "hosts", "", "", "more names or addresses every certificate is valid for, separated by ','")
	fs.String(&c.Keystore, "keystore", "", "", "a service of --services whose key and certificate are also written as NAME.pem (Kafka's PEM keystore)")
	fs.String(&c.owner, "owner", "", "", "UID:GID that owns the certificates and keys (when run as root)")
	fs.String(&c.keystoreOwner, "keystore-owner", "", "", "UID:GID that owns the keystore (when run as root; apache/kafka runs as 1000:1000)")
	return fs
}

// ParseCerts parses args and the environment into a validated Certs.
func ParseCerts(args []string, getenv func(string) (string, bool)) (*Certs, error) {
	c := &Certs{}
	if err := parse(CertsFlags(c), args, getenv, nil, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and reads the lists.
func (c *Certs) Validate() error {
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if c.Out == "" {
		return Usagef("out", "must not be empty")
	}
	c.Services, c.Hosts = splitList(c.services), splitList(c.hosts)
	if len(c.Services) == 0 {
		return Usagef("services", "names no service: want NAME,NAME,...")
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if strings.ContainsAny(s, "/\\") || s == "." || s == ".." || s == "ca" {
			return Usagef("services", "%q cannot name a file of --out (no '/', not \"ca\")", s)
		}
		if seen[s] {
			return Usagef("services", "%s is listed twice", s)
		}
		seen[s] = true
	}
	if c.Keystore != "" && !seen[c.Keystore] {
		return Usagef("keystore", "%q is not one of --services", c.Keystore)
	}
	var err error
	if c.Owner, err = parseOwner("owner", c.owner); err != nil {
		return err
	}
	c.KeystoreOwner, err = parseOwner("keystore-owner", c.keystoreOwner)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parseOwner(flagName, s string) (Owner, error) {
	if s == "" {
		return Owner{}, nil
	}
	u, g, ok := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return Owner{}, Usagef(flagName, "%q: want UID:GID in numbers (e.g. 10001:10001)", s)
	}
	return Owner{UID: uid, GID: gid, Set: true}, nil
}
