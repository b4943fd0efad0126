package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
)

// AuditFile is the audit log's name in the data dir.
const AuditFile = "audit.log"

// ServiceOptions configure a whole Registry service: its state, its audit
// log, its certificate and its HTTPS API.
type ServiceOptions struct {
	Listen     string
	DataDir    string
	AdminToken string
	// TLSCert and TLSKey; both empty = the self-signed pair in DataDir.
	TLSCert, TLSKey string
	// TLSHosts are extra names of the self-signed certificate.
	TLSHosts []string
	// AuditSync flushes each audit record to disk.
	AuditSync bool
	// Registry holds the remaining options (DataDir, AdminToken, Audit,
	// Publish and Logger are filled in here).
	Registry registry.Options
	Publish  func(key string, msg proto.Message)
	Logger   *logrus.Entry
}

// Service is a running Registry with its HTTPS API.
type Service struct {
	Registry    *registry.Registry
	Audit       *audit.Log
	Server      *Server
	Certificate *Certificate
}

// StartService opens the data dir, checks the audit chain (a broken one is
// one WARN naming the record; appending continues), loads or creates the
// certificate and starts the HTTPS API.
func StartService(o ServiceOptions) (*Service, error) {
	if o.Logger == nil {
		o.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("registry data dir: %w", err)
	}
	auditPath := filepath.Join(o.DataDir, AuditFile)
	if _, err := audit.VerifyFile(auditPath); err != nil && errors.Is(err, audit.ErrBroken) {
		o.Logger.WithField("audit_log", auditPath).Warnf("The audit log does not verify: %v", err)
	}
	log, err := audit.Open(auditPath, audit.Options{Sync: o.AuditSync})
	if err != nil {
		return nil, err
	}
	s := &Service{Audit: log}
	hosts := append([]string{}, o.TLSHosts...)
	if h, _, err := net.SplitHostPort(o.Listen); err == nil {
		hosts = append(hosts, h)
	}
	if s.Certificate, err = LoadCertificate(o.TLSCert, o.TLSKey, o.DataDir, hosts); err != nil {
		_ = log.Close()
		return nil, err
	}
	ro := o.Registry
	ro.DataDir, ro.AdminToken, ro.Audit, ro.Publish, ro.Logger = o.DataDir, o.AdminToken, log, o.Publish, o.Logger
	if s.Registry, err = registry.New(ro); err != nil {
		_ = log.Close()
		return nil, err
	}
	if s.Server, err = New(Options{Addr: o.Listen, Registry: s.Registry, Audit: log, Certificate: s.Certificate.Pair, Logger: o.Logger}); err == nil {
		err = s.Server.Start()
	}
	if err != nil {
		s.Registry.Close()
		_ = log.Close()
		return nil, err
	}
	fields := logrus.Fields{"fingerprint_sha256": s.Certificate.Fingerprint, "certificate": s.Certificate.CertFile, "key_id": s.Registry.KeyID()}
	if s.Certificate.Created {
		o.Logger.WithFields(fields).Info("Created a self-signed TLS certificate for the Registry")
	}
	o.Logger.WithFields(fields).Infof("Registry API on https://%s/ (OpenAPI at /openapi.yaml)", s.Server.Addr())
	return s, nil
}

// Close stops the API (waiting up to ctx for calls in flight), the
// Registry and the audit log.
func (s *Service) Close(ctx context.Context) {
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
	}
	_ = s.Server.Shutdown(ctx)
	s.Registry.Close()
	_ = s.Audit.Close()
}
