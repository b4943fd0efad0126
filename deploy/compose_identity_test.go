package deploy

import (
	"path/filepath"
	"strings"
)

// checkOneShot checks a service that runs once and exits (enrol): no
// restart policy that would run it again and again, no health check (it
// is not meant to stay up), and what it needs declared.
func checkOneShot(t reporter, label, name string, s *service) {
	t.Helper()
	if s.Restart != "no" {
		t.Errorf("%s: %s: restart %q; a one-shot step needs restart \"no\" (else it runs again after it exited 0)", label, name, s.Restart)
	}
	if s.Healthcheck != nil && len(s.Healthcheck.Test) > 0 && s.Healthcheck.Test[0] != "NONE" {
		t.Errorf("%s: %s: a one-shot step has no health check to pass", label, name)
	}
}

// checkIdentity checks the Registry's wiring: one registry service with its
// state on a volume and its public parts on another; enrol trusts what the
// Registry wrote and enrols every charge point with the price its engine
// charges; each monitor starts once enrol succeeded, reads its own
// credential file from enrol's volume, and asks the Registry enrol asked;
// Central verifies tokens (by default) with the key the Registry wrote.
func checkIdentity(t reporter, label string, cf *composeFile, byRole map[string][]string, defaults bool) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{label}, args...)...)
	}
	if len(byRole["registry"]) != 1 || len(byRole["enrol"]) != 1 {
		errorf("%d registry and %d enrol services, want one each", len(byRole["registry"]), len(byRole["enrol"]))
		return
	}
	reg, enrol := cf.Services[byRole["registry"][0]], cf.Services[byRole["enrol"][0]]
	central := cf.Services[byRole["central"][0]]
	renv, eenv := reg.Environment, enrol.Environment

	if !hasNamedVolumeAt(reg, renv["EVSIM_DATA_DIR"], cf) {
		errorf("the Registry's data dir %q (state, signing key) is not on a named volume", renv["EVSIM_DATA_DIR"])
	}
	public := volumeAt(reg, renv["EVSIM_PUBLIC_DIR"])
	if public == nil || !public.isNamedVolume() || public.ReadOnly {
		errorf("the Registry's public dir %q is not on a named volume it writes", renv["EVSIM_PUBLIC_DIR"])
		return
	}
	if v := volumeAt(reg, renv["EVSIM_DATA_DIR"]); v != nil && v.Source == public.Source {
		errorf("the Registry's data dir and public dir are one volume: its signing key would be shared")
	}
	_, listenPort := hostPort(t, label+": registry: EVSIM_LISTEN", renv["EVSIM_LISTEN"])
	url := eenv["EVSIM_REGISTRY"]
	host, port := hostPort(t, label+": enrol: EVSIM_REGISTRY", strings.TrimPrefix(url, "https://"))
	if !strings.HasPrefix(url, "https://") || port != listenPort {
		errorf("enrol asks the Registry at %q, which listens on port %d over HTTPS", url, listenPort)
	}
	if !strings.Contains(","+renv["EVSIM_TLS_HOSTS"]+",", ","+host+",") {
		errorf("the Registry's certificate names %q, not %q that its clients dial", renv["EVSIM_TLS_HOSTS"], host)
	}
	if d, ok := enrol.DependsOn[byRole["registry"][0]]; !ok || d.Condition != "service_healthy" {
		errorf("enrol does not wait for the Registry to be healthy")
	}
	if ca := eenv["EVSIM_REGISTRY_CA"]; !mountedFrom(enrol, ca, public.Source) {
		errorf("enrol trusts %q, not the certificate on the Registry's public volume", ca)
	}
	if eenv["EVSIM_ADMIN_TOKEN"] != renv["EVSIM_ADMIN_TOKEN"] || eenv["EVSIM_ADMIN_TOKEN"] == "" {
		errorf("enrol's admin token is not the Registry's")
	}
	out := volumeAt(enrol, eenv["EVSIM_OUT"])
	if out == nil || !out.isNamedVolume() || out.ReadOnly {
		errorf("enrol writes the credentials to %q, not a named volume", eenv["EVSIM_OUT"])
		return
	}
	enrolled := map[string]string{} // id -> price
	for _, entry := range strings.Split(eenv["EVSIM_CPS"], ";") {
		parts := strings.SplitN(strings.TrimSpace(entry), ":", 3)
		if len(parts) >= 2 {
			enrolled[parts[0]] = parts[1]
		}
	}
	for _, name := range byRole["engine"] {
		env := cf.Services[name].Environment
		if price, ok := enrolled[env["EVSIM_CP"]]; !ok || price != env["EVSIM_PRICE"] {
			errorf("enrol registers %s at price %q, its engine charges %q", env["EVSIM_CP"], price, env["EVSIM_PRICE"])
		}
	}
	for _, name := range byRole["monitor"] {
		s := cf.Services[name]
		env := s.Environment
		if d, ok := s.DependsOn[byRole["enrol"][0]]; !ok || d.Condition != "service_completed_successfully" {
			errorf("%s does not wait for enrol to complete successfully", name)
		}
		if env["EVSIM_REGISTRY"] != url {
			errorf("%s asks the Registry at %q, enrol at %q", name, env["EVSIM_REGISTRY"], url)
		}
		file := env["EVSIM_CREDENTIAL_FILE"]
		if filepath.Base(file) != env["EVSIM_CP"]+".credential" || !mountedFrom(s, file, out.Source) {
			errorf("%s reads its credential from %q, not its own file on enrol's volume", name, file)
		}
		if !mountedFrom(s, env["EVSIM_REGISTRY_CA"], out.Source) {
			errorf("%s trusts %q, not the certificate enrol saved", name, env["EVSIM_REGISTRY_CA"])
		}
		if v := volumeAt(s, filepath.Dir(file)); v != nil && !v.ReadOnly {
			errorf("%s mounts the credentials read-write; it only reads them", name)
		}
	}
	if defaults && central.Environment["EVSIM_AUTH"] != "registry" {
		errorf("Central's EVSIM_AUTH is %q by default, want registry", central.Environment["EVSIM_AUTH"])
	}
	if key := central.Environment["EVSIM_REGISTRY_KEY_FILE"]; !mountedFrom(central, key, public.Source) {
		errorf("Central pins the key in %q, not the one on the Registry's public volume", key)
	}
}

// volumeAt is the mount of s at dir, nil if none.
func volumeAt(s *service, dir string) *mount {
	for i, m := range s.Volumes {
		if dir != "" && filepath.Clean(m.Target) == filepath.Clean(dir) {
			return &s.Volumes[i]
		}
	}
	return nil
}

// mountedFrom says whether file is in a folder of s mounted from volume.
func mountedFrom(s *service, file, volume string) bool {
	v := volumeAt(s, filepath.Dir(file))
	return file != "" && v != nil && v.Source == volume
}
