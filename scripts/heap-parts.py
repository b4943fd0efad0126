#!/usr/bin/env python3
"""Live heap of an evsim run per part of the network (issue 14).

Usage: scripts/heap-parts.py BINARY HEAP_PROFILE CHARGE_POINTS

HEAP_PROFILE is what `evsim --mem-profile FILE` writes (run with
GODEBUG=memprofilerate=32768 for a finer sample than Go's default 512 KiB).
Each sample is charged to the first evsim function on its stack, counted
from the allocation up (the receive middleware and the worker pool, which
are on every stack, do not count), so that protoactor's allocations go to
the part that caused them; what no part caused goes to its library. Prints
MB and bytes per charge point, largest first.
"""
import collections
import re
import subprocess
import sys

# (part, pattern of the first evsim frame), first match wins.
PARTS = [
    ("timer wheel", r"actors/internal/timer"),
    ("supervision (site supervisors, child records)", r"actors/supervision"),
    ("engine", r"actors/chargepoint"),
    ("monitor", r"actors/monitor"),
    ("driver", r"actors/driver"),
    ("Central", r"actors/central"),
    ("bridge (subscriptions, records in flight)", r"evsim/bridge"),
    ("seal keys (an AES-GCM per charge point)", r"internal/seal"),
    ("network (specs, secrets, journals, PIDs)", r"actors/network"),
    ("evsim main, scenario", r"evsim/cmd|internal/sim|^main\."),
]
LIBRARIES = [("sarama + go-metrics", r"IBM/sarama|rcrowley"), ("protobuf", r"protobuf"),
             ("protoactor (other)", r"protoactor"), ("runtime/pprof", r"runtime/pprof")]
EVERYWHERE = re.compile(r"CaptureStack|internal/pool|WithReceiverMiddleware")
UNITS = {"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def part_of(frames):
    if any("handleWatch" in f for f in frames):
        return "protoactor watch sets (the bridge watches each subscriber)"
    ours = [f for f in frames if ("evcharging/evsim" in f or f.startswith("main.")) and not EVERYWHERE.search(f)]
    if ours and "actors/supervision.(*Supervisor)" in ours[0] and re.search(r"protoactor|concurrent-map|Unbounded", frames[0]):
        return "protoactor actor instances (context, mailbox, registry, child sets)"
    for f in ours:
        for name, rx in PARTS:
            if re.search(rx, f):
                return name
    for name, rx in LIBRARIES:
        if any(re.search(rx, f) for f in frames):
            return name
    return "other"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2])
    binary, profile, cps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = subprocess.run(["go", "tool", "pprof", "-traces", "-sample_index=inuse_space", binary, profile],
                         capture_output=True, text=True, check=True).stdout
    total = collections.Counter()
    for block in out.split("-----------+-------------------------------------------------------")[1:]:
        lines = [l for l in block.strip().splitlines() if l.strip() and not l.strip().startswith("bytes:")]
        m = re.match(r"\s*([\d.]+)(B|kB|MB|GB)?\s+(.*)", lines[0]) if lines else None
        if not m:
            continue
        frames = [m.group(3).strip()] + [l.strip() for l in lines[1:]]
        total[part_of(frames)] += float(m.group(1)) * UNITS[m.group(2) or "B"]
    for name, size in total.most_common():
        print("%-68s %7.1f MB %6.0f B/CP" % (name, size / (1 << 20), size / cps))
    size = sum(total.values())
    print("%-68s %7.1f MB %6.0f B/CP" % ("= live heap (sampled)", size / (1 << 20), size / cps))


if __name__ == "__main__":
    main()
