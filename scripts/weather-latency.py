#!/usr/bin/env python3
"""Weather alert latency in a real evsim: the time from typing
"weather Alicante -2" on evsim's stdin to CP-001 (in Alicante) showing
STOPPED on /api/chargepoints/CP-001, and from "weather Alicante 3" back to
ACTIVATED; ROUNDS of each, typed at random moments. Extra arguments go to evsim (e.g.
--weather-interval 1s). Run from the repository:

    python3 scripts/weather-latency.py [evsim flags]
"""
import json, os, random, socket, subprocess, sys, tempfile, time, urllib.request

ROUNDS = 10
tmp = tempfile.mkdtemp()
evsim = os.path.join(tmp, 'evsim')
subprocess.run(['go', 'build', '-o', evsim, './cmd/evsim'], check=True)
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
p = subprocess.Popen([evsim, '--embedded-broker', '127.0.0.1:0', '--db', ':memory:', '--panel', 'off',
                      '--http', f'127.0.0.1:{port}', '--duration', '10m', '--drivers', '0'] + sys.argv[1:],
                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

def state():
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/chargepoints/CP-001', timeout=2) as r:
            return json.load(r)['state']
    except Exception:
        return None

def until(want, limit=60):
    deadline = time.monotonic() + limit
    while state() != want:
        if time.monotonic() > deadline or p.poll() is not None:
            sys.exit(f'CP-001 never became {want}')
        time.sleep(0.01)

try:
    until('ACTIVATED')
    res = {'freeze (to STOPPED)': [], 'thaw (to ACTIVATED)': []}
    for _ in range(ROUNDS):
        for temp, want, key in (('-2', 'STOPPED', 'freeze (to STOPPED)'), ('3', 'ACTIVATED', 'thaw (to ACTIVATED)')):
            time.sleep(random.uniform(0, 4))  # at any moment of the office's 4 s round
            t0 = time.monotonic()
            p.stdin.write(f'weather Alicante {temp}\n'); p.stdin.flush()
            until(want)
            res[key].append(time.monotonic() - t0)
    for k, v in res.items():
        v.sort()
        print(f'{k}: n={len(v)} min {v[0]:.2f} s, median {v[len(v) // 2]:.2f} s, max {v[-1]:.2f} s')
finally:
    p.terminate(); p.wait()
