"""The performance targets of the issue, judged on one run's figures.

Each target comes back as a dict: name, status ("met", "missed" or "not
evaluated"), the measured value, the goal, and a one-line detail saying by how
much.  Ratios are peer seconds per patient / rasim rodas4 seconds per patient at
equal achieved error (``workprec.ratios``), so a ratio of 3 means rasim's cohort
throughput is 3x the peer's.
"""

from __future__ import annotations

MEMORY_GROWTH_LIMIT = 0.10  # peak RSS of the largest run may exceed the smallest's by this fraction


def _target(name, status, value, goal, detail):
    return {"name": name, "status": status, "value": value, "goal": goal, "detail": detail}


def ratio_target(name: str, peer: str, levels: list, goal: float, missing: dict) -> dict:
    """rasim at least ``goal`` x faster than ``peer`` at every compared error level."""
    if peer in missing:
        return _target(name, "not evaluated", None, goal, f"{peer} did not run: {missing[peer]}")
    if not levels:
        return _target(name, "not evaluated", None, goal, "no overlap of achieved errors")
    worst = min(r for _, r in levels)
    best = max(r for _, r in levels)
    at = min(levels, key=lambda x: x[1])[0]
    short = sum(r < goal for _, r in levels)
    detail = (
        f"{worst:.2f}x to {best:.2f}x over {len(levels)} error levels; worst {worst:.2f}x at error "
        f"{at:.1e} = {worst / goal:.2f} of the goal" + (f"; below goal at {short}" if short else "")
    )
    return _target(name, "met" if worst >= goal else "missed", worst, goal, detail)


def time_target(name: str, seconds: float | None, goal: float, how: str = "") -> dict:
    """``seconds`` under ``goal``."""
    if seconds is None:
        return _target(name, "not evaluated", None, goal, "not measured")
    verdict = "met" if seconds < goal else "missed"
    word = "under" if seconds < goal else "over"
    detail = f"{seconds:.2f} s{how}: {abs(seconds - goal):.2f} s {word} the {goal:g} s goal ({seconds / goal:.2f}x)"
    return _target(name, verdict, seconds, goal, detail)


def memory_target(runs: list[dict]) -> dict:
    """Peak memory of summary-only runs flat in N: the largest run within MEMORY_GROWTH_LIMIT of the
    smallest one that fills at least two of the cohort's chunks (a smaller run's single partial
    chunk holds fewer patients at once, so it says nothing about growth with N); not evaluated
    when fewer than two runs fill two chunks."""
    done = [r for r in runs if "peak_mib" in r]
    name = "peak memory of a summary-only run does not grow with N"
    sizes = ", ".join(f"{r['peak_mib']:.0f} MiB at N={r['patients']:,}" for r in done)
    full = [r for r in done if r.get("chunk_size") and r["patients"] >= 2 * r["chunk_size"]]
    if len(full) < 2:
        why = "fewer than two cohort sizes fill two chunks each"
        return _target(name, "not evaluated", None, MEMORY_GROWTH_LIMIT, f"{why}; {sizes}" if sizes else why)
    lo, hi = full[0], full[-1]
    growth = hi["peak_mib"] / lo["peak_mib"] - 1.0
    detail = (
        f"{growth:+.1%} from N={lo['patients']:,} to N={hi['patients']:,} (limit +{MEMORY_GROWTH_LIMIT:.0%}); {sizes}"
    )
    return _target(name, "met" if growth <= MEMORY_GROWTH_LIMIT else "missed", growth, MEMORY_GROWTH_LIMIT, detail)


def evaluate(ratios: dict, missing: dict, runs: list[dict], startup: dict) -> list[dict]:
    """Every target of issue 14, in the issue's order."""
    big = next((r for r in runs if r["patients"] == 100_000), None)
    if big is None:
        big_s, how = None, ""
    elif "wall_s" in big:
        big_s, how = big["wall_s"], " measured"
    else:
        big_s, how = big["projected_s"], f" projected from N={big['projected_from']:,}"
    return [
        time_target("100,000 msc+dmard patients end to end <= 40 s on 2 cores (stretch 20 s)", big_s, 40.0, how),
        ratio_target(
            "cohort throughput >= 10x numbalsoda at equal error",
            "numbalsoda",
            ratios.get("numbalsoda", []),
            10.0,
            missing,
        ),
        ratio_target(
            "cohort throughput >= 50x scipy odeint (LSODA Fortran driver) at equal error",
            "scipy-odeint",
            ratios.get("scipy-odeint", []),
            50.0,
            missing,
        ),
        ratio_target(
            "diffrax (best of its stiff solvers at each error) slower than rasim at every error level",
            "diffrax-best",
            ratios.get("diffrax-best", []),
            1.0,
            missing,
        ),
        memory_target(runs),
        time_target("cold compile <= 20 s", startup.get("cold_s"), 20.0),
        time_target("cached start <= 1 s", startup.get("cached_s"), 1.0),
    ]
