package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
)

// CredentialFile is where `evnode enrol` keeps a charge point's credential.
func CredentialFile(dir, id string) string { return filepath.Join(dir, id+".credential") }

// runEnrol is `evnode enrol`: a one-shot step that registers charge points
// in the Registry and writes each credential to OUT/<ID>.credential for its
// monitor, with the Registry's certificate as OUT/registry.crt. Idempotent:
// a charge point with a credential file keeps it (enrol never undoes the
// operator's revocation or deregistration); one without is registered, or,
// when the Registry has it registered already, given a new credential. A
// revoked one is left revoked. Exit 0 when every charge point has its file
// (or was left as the Registry holds it), 1 otherwise.
func runEnrol(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseEnrol(args, getenv)
	if err != nil {
		return usageExit("enrol", err, stderr)
	}
	logger, err := newPlainLogger(c.Log, stderr)
	if err != nil {
		return usageExit("enrol", err, stderr)
	}
	log := logging.Component(logger, "Enrol")
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		log.Errorf("Cannot create the credentials folder %s: %v", c.Out, err)
		return 1
	}
	client, err := enrolClient(ctx, c, log)
	if err != nil {
		log.Errorf("%v", err)
		return 1
	}
	failed := 0
	for _, cp := range c.ChargePoints {
		if err := enrolOne(ctx, client, c, cp, log); err != nil {
			log.WithField("cp_id", cp.ID).Errorf("Cannot enrol %s: %v", cp.ID, err)
			failed++
		}
	}
	if failed > 0 {
		return 1
	}
	log.Infof("%d charge points enrolled; credentials in %s", len(c.ChargePoints), c.Out)
	return 0
}

// enrolClient waits (up to --wait) for the Registry, keeps its certificate
// as OUT/registry.crt and answers a client that trusts it.
func enrolClient(ctx context.Context, c *config.Enrol, log *logrus.Entry) (*httpapi.Client, error) {
	certOut := filepath.Join(c.Out, httpapi.PublicCert)
	deadline := time.Now().Add(c.Wait)
	told := false
	for {
		err := saveRegistryCert(ctx, c, certOut)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("cannot reach the Registry within --wait %v: %w", c.Wait, err)
		}
		if !told {
			told = true
			log.Infof("Waiting for the Registry at %s (%v)", c.Registry, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	ca := certOut
	if c.CA == "" && c.Fingerprint == "" {
		ca = "" // the system's roots
	}
	client, err := httpapi.NewClient(c.Registry, ca)
	if err != nil {
		return nil, err
	}
	// The API answers once it can: retried within --wait too.
	for {
		_, err := client.Get(ctx, c.AdminToken, c.ChargePoints[0].ID)
		if err == nil || errors.Is(err, registry.ErrNotFound) {
			return client, nil
		}
		if errors.Is(err, registry.ErrBadCredential) {
			return nil, errors.New("the Registry refused the admin token (--admin-token, EVSIM_ADMIN_TOKEN)")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("the Registry at %s does not answer within --wait %v: %w", c.Registry, c.Wait, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// saveRegistryCert writes the certificate the monitors are to trust: the
// --registry-ca file, or the one the Registry shows when it matches the
// pinned fingerprint. Without either, the system's roots are trusted and
// nothing is written.
func saveRegistryCert(ctx context.Context, c *config.Enrol, out string) error {
	var pem []byte
	var err error
	switch {
	case c.Fingerprint != "":
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pem, err = httpapi.FetchPinnedCertificate(cctx, c.Registry, c.Fingerprint)
		cancel()
	case c.CA != "":
		pem, err = os.ReadFile(c.CA)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if c.Fingerprint == "" && filepath.Clean(c.CA) == filepath.Clean(out) {
		return nil
	}
	return registry.WriteFileAtomic(out, pem, 0o644)
}

// enrolOne gives one charge point its credential file.
func enrolOne(ctx context.Context, client *httpapi.Client, c *config.Enrol, cp config.EnrolChargePoint, log *logrus.Entry) error {
	path := CredentialFile(c.Out, cp.ID)
	l := log.WithField("cp_id", cp.ID)
	if _, err := os.Stat(path); err == nil {
		view, err := client.Get(ctx, c.AdminToken, cp.ID)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			l.Warnf("%s has a credential file but the Registry does not know it (deregistered?); leaving it so: delete %s to enrol it again", cp.ID, path)
		case err != nil:
			return err
		case view.State != registry.StateName(messages.IdentityState_IDENTITY_STATE_REGISTERED):
			l.Warnf("%s is %s in the Registry; enrol leaves it so (only the operator's rotate brings it back)", cp.ID, view.State)
		default:
			l.Infof("%s is enrolled already; keeping its credential file", cp.ID)
		}
		return nil
	}
	cred, err := client.Register(ctx, c.AdminToken, cp.ID, cp.Location, cp.Price, false)
	if errors.Is(err, registry.ErrExists) {
		view, gerr := client.Get(ctx, c.AdminToken, cp.ID)
		if gerr != nil {
			return gerr
		}
		if view.State != registry.StateName(messages.IdentityState_IDENTITY_STATE_REGISTERED) {
			l.Warnf("%s is %s in the Registry and has no credential file; enrol leaves it so (only the operator's rotate brings it back)", cp.ID, view.State)
			return nil
		}
		// Registered, but its credential is lost with the file: a new one.
		cred, err = client.Register(ctx, c.AdminToken, cp.ID, cp.Location, cp.Price, true)
		if err == nil {
			l.Infof("%s was registered but its credential file is gone: gave it a new credential", cp.ID)
		}
	} else if err == nil {
		l.Infof("Registered %s in the Registry (%s, %.2f EUR/kWh)", cp.ID, cp.Location, cp.Price)
	}
	if err != nil {
		return err
	}
	return registry.WriteFileAtomic(path, []byte(cred+"\n"), 0o600)
}
