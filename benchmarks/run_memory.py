"""Peak resident memory of ``rasim run`` (the command, files and all) against cohort size.

    python benchmarks/run_memory.py                       # 1,000 / 10,000 / 100,000 patients per arm
    python benchmarks/run_memory.py --sizes 1000,5000 --threads 1 --keep summary

Each size runs the default scenario (trial3y: 5 arms, 3 years, 12 visits) in a fresh process
through ``rasim.cli.main`` into a temporary folder; that process reports its own peak resident
memory (``VmHWM`` of /proc/self/status, Linux) at exit, after a warm start (kernels compiled once
before the first size).  Prints one row per size and writes them as JSON
(``benchmarks/results/run_memory_<UTC time>.json``) unless ``--json -``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

CHILD = """
import sys
from rasim.cli import main
code = main(sys.argv[1:])
hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))
print(f'VmHWM_kB={hwm.split()[1]}', file=sys.stderr)
sys.exit(code)
"""


def measure(patients: int, keep: str, threads: int | None, scenario: str) -> dict:
    """One ``rasim run`` of ``patients`` per arm: wall seconds, peak RSS (MiB), output size (MiB)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        args = ["run", scenario, "--patients", str(patients), "--keep", keep, "--out", str(out), "--quiet"]
        args += ["--threads", str(threads)] if threads else []
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"rasim run failed ({r.returncode}): {r.stderr}")
        hwm = int(r.stderr.rsplit("VmHWM_kB=", 1)[1].split()[0])
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "patients_per_arm": patients,
        "keep": keep,
        "threads": threads,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(hwm / 1024, 1),
        "output_mib": round(size / 2**20, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="patients per arm, comma-separated")
    p.add_argument("--keep", choices=("patients", "summary"), default="patients")
    p.add_argument("--threads", type=int)
    p.add_argument("--scenario", default="trial3y")
    p.add_argument("--json", default=None, help="output file (default benchmarks/results/...; '-' for none)")
    args = p.parse_args()
    measure(2, args.keep, args.threads, args.scenario)  # compile (or load) the kernels once
    rows = []
    print(f"{'patients/arm':>12} {'wall s':>8} {'peak RSS MiB':>13} {'output MiB':>11}", flush=True)
    for n in (int(s) for s in args.sizes.split(",")):
        row = measure(n, args.keep, args.threads, args.scenario)
        rows.append(row)
        print(f"{n:>12,} {row['wall_s']:>8} {row['peak_rss_mib']:>13} {row['output_mib']:>11}", flush=True)
    if args.json != "-":
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = Path(args.json or Path(__file__).parent / "results" / f"run_memory_{stamp}.json")
        path.write_text(json.dumps({"scenario": args.scenario, "rows": rows}, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
