#!/usr/bin/env python3
"""Failover time of a shared group of Centrals, with real processes on
the embedded broker: `evnode broker`, three `evnode central --shared-group`
(--group-session-timeout 2s), two `evnode site` nodes of PER_SITE charge
points that know all three Centrals, and DRIVERS drivers. Once every charge
point is ACTIVATED and supplies run, kill -9 one Central and time until all
are ACTIVATED again at the two survivors (each at exactly one), then list any
DISCONNECTED line the survivors wrote. Run from the repository:

    python3 scripts/failover-bench.py [PER_SITE [DRIVERS]]     (default 2500 200)
"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

PER_SITE = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
DRIVERS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
work = tempfile.mkdtemp()
evnode = os.path.join(work, 'evnode')
subprocess.run(['go', 'build', '-o', evnode, './cmd/evnode'], check=True)


def free():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    return f'127.0.0.1:{port}'


env = dict(os.environ, EVSIM_ENCRYPTION='off', KAFKA_WAIT_MAX_ATTEMPTS='200', KAFKA_WAIT_SECONDS='0.5')
procs = {}


def start(name, *args):
    log = open(os.path.join(work, name + '.log'), 'a')
    procs[name] = subprocess.Popen([evnode, *args], stdout=log, stderr=log, env=env, cwd=work, start_new_session=True)


def views(alive):
    """Charge point -> state at the running Centrals; how many shown twice; Centrals not answering."""
    seen, twice, down = {}, 0, 0
    for i in alive:
        try:
            cps = json.load(urllib.request.urlopen(f'http://{https[i]}/api/chargepoints', timeout=3))
        except Exception:
            down += 1
            continue
        for cp in cps:
            twice += cp['id'] in seen
            seen[cp['id']] = cp['state']
    return sum(s in ('ACTIVATED', 'SUPPLYING') for s in seen.values()), twice, down


def wait_all(alive, within):
    began = time.time()
    while time.time() - began < within:
        ok, twice, down = views(alive)
        if ok == total and twice == 0 and down == 0:
            return time.time() - began
        time.sleep(0.1)  # polling the panels
    sys.exit(f'not all {total} ACTIVATED within {within}s: {views(alive)}')


try:
    broker = free()
    env['KAFKA_BOOTSTRAP'] = broker
    start('broker', 'broker', '--listen', broker, '--data-dir', os.path.join(work, 'kafka'))
    remotes, https = [free() for _ in range(3)], [free() for _ in range(3)]
    for i in range(3):
        start(f'central-{i + 1}', 'central', '--shared-group', '--group', 'centrals', '--group-session-timeout', '2s',
              '--listen', remotes[i], '--http', https[i], '--db', os.path.join(work, f'central-{i + 1}.db'))
    for n in range(2):
        start(f'site-{n + 1}', 'site', '--central', ','.join(remotes[n:] + remotes[:n]), '--listen', free(),
              '--first', str(n * PER_SITE + 1), '--count', str(PER_SITE), '--id-pattern', 'CP-%05d', '--group', f'site-{n + 1}',
              '--key-file', os.path.join(work, f'site-{n + 1}.key'), '--journal-dir', os.path.join(work, f'site-{n + 1}-engines'),
              '--supply-duration', '5s')
    total = 2 * PER_SITE
    start('drivers', 'drivers', '--count', str(DRIVERS), '--cp-first', '1', '--cp-count', str(total), '--cp-pattern', 'CP-%05d',
          '--requests-per-driver', '1000', '--progress-dir', os.path.join(work, 'drivers'), '--reply-timeout', '4s')
    print(f'all {total} charge points ACTIVATED {wait_all([0, 1, 2], 300):.1f} s after the start')
    time.sleep(15)  # supplies under way before the kill
    os.killpg(procs['central-1'].pid, signal.SIGKILL)
    procs['central-1'].wait()
    print(f'kill -9 of central-1: all {total} ACTIVATED at the survivors {wait_all([1, 2], 120):.2f} s after the kill')
    time.sleep(5)  # what the survivors write just after
    lines = [l.strip() for n in ('central-2', 'central-3') for l in open(os.path.join(work, n + '.log')) if 'DISCONNECTED' in l and 'WARN' in l]
    print(f'DISCONNECTED lines at the survivors: {len(lines)}', *lines[:5], sep='\n')
finally:
    for p in procs.values():
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs.values():
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    shutil.rmtree(work, ignore_errors=True)
