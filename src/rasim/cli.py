"""The ``rasim`` command (also ``python -m rasim``).

    rasim scenarios                     built-in scenarios with their descriptions
    rasim show [SCENARIO] [overrides]   the resolved scenario as TOML
    rasim params [--table NAME] [--search WORD] [--set NAME] [--diff SET SET]   the parameter set's tables
    rasim run [SCENARIO] [overrides] [--keep patients|summary] [--unsafe-params] [--threads T]
              [--out DIR] [--overwrite] [--chunk-size N] [--dask ADDRESS|local[:N]] [--quiet]
    rasim run --resume DIR [--threads T] [--dask ADDRESS|local[:N]] [--quiet]
    rasim sweep --grid NAME=V,V,... [--grid NAME[=V,...] ...] [--arm ARM] [--patients N]
                [--day D] [--endpoint E] [--points N] [--seed S] [--threads T] [--out DIR]
                [--overwrite] [--quiet]
    rasim sensitivity --params NAME,NAME,... [--method sobol|morris] [--samples N]
                [--arm ARM] [--day D] [--endpoint E] [--seed S] [--out DIR] [--overwrite] [--quiet]
    rasim explore [--port P] [--no-browser]   the interactive explorer (pip install rasim[explore])

SCENARIO is a built-in name or a .toml path (default trial3y); overrides are
--patients, --seed, --days, --observe and --parameter-set (a name of
``rasim params``' sets; replaces the scenario's ``parameter_set``).  Input errors print
``rasim: error: <message>`` and exit with status 2, before anything runs; so do
sizes above their ceilings (``rasim.gate.LIMITS``: grid points, sensitivity
samples, a run's estimated memory and disk) and a disk estimate above the free
space.  Ctrl-C during a run keeps the finished chunks, prints how to resume and
exits with status 130; a full disk during a run does the same with status 2.
``rasim --version`` prints the version.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import gate, model, parameter_sets, parameters
from .errors import RasimError, unknown_name
from .model import parameter
from . import output
from .output import version, write_csv
from .scenario import Scenario, builtin_description, builtin_names, load

DEFAULT_SCENARIO = "trial3y"
DEFAULT_OUT = Path("rasim-out")
OVERRIDES = ("patients", "seed", "days", "observe", "parameter_set")  # scenario keys settable on the command line


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]); returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage and the error (status 2) or --help (0)
        return int(e.code or 0)
    from .runner import DiskFull, RunInterrupted

    _log_to_stderr(logging.ERROR if getattr(args, "quiet", False) else logging.INFO)
    try:
        return args.command(args)
    except DiskFull as e:  # an error, not Ctrl-C: status 2, with how to resume
        print(f"rasim: error: {e}", file=sys.stderr)
        return 2
    except RunInterrupted as e:
        print(f"\nrasim: {e}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nrasim: interrupted", file=sys.stderr)
        return 130
    except (RasimError, OSError) as e:
        print(f"rasim: error: {e}", file=sys.stderr)
        return 2


class _Prefixed(logging.Formatter):
    """``rasim: warning: <message>`` for warnings and above, ``rasim: <message>`` below."""

    def format(self, record: logging.LogRecord) -> str:
        kind = (
            "warning: " if record.levelno == logging.WARNING else "error: " if record.levelno > logging.WARNING else ""
        )
        return f"rasim: {kind}{record.getMessage()}"


def _log_to_stderr(level: int) -> None:
    """Route the library's ``rasim`` log records to stderr, from ``level`` up (one handler)."""
    logger = logging.getLogger("rasim")
    for h in [h for h in logger.handlers if isinstance(h.formatter, _Prefixed)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Prefixed())
    logger.addHandler(handler)
    logger.setLevel(level)


# -- commands ----------------------------------------------------------------


def cmd_scenarios(args) -> int:
    names = builtin_names()
    width = max(map(len, names))
    for name in names:
        default = " (default)" if name == DEFAULT_SCENARIO else ""
        print(f"{name:{width}s}  {builtin_description(name)}{default}")
    return 0


def cmd_show(args) -> int:
    from tomli_w import dumps
    from .scenario import population_to_dict

    scenario = _scenario(args)
    print(f"# {scenario.name}, resolved from {scenario.source}")
    print(scenario.to_toml(), end="")
    own = {p.name for p in scenario.populations}
    builtin = dict.fromkeys(a.population for a in scenario.arms if a.population not in own)
    if builtin:
        print("\n# Built-in populations of these arms (to change one, copy it under another name):")
        text = dumps({"populations": [population_to_dict(scenario.population(n)) for n in builtin]})
        print("".join(f"# {line}\n" if line else "#\n" for line in text.splitlines()), end="")
    return 0


def cmd_params(args) -> int:
    if args.diff:
        a, b = args.diff
        return _print_diff(a, b, args.table)
    name = args.set or model.SET_NAME
    found = {t: parameters(args.search, set=name, table=t) for t in _tables(args.table)}
    found = {t: rows for t, rows in found.items() if rows}
    if not found:
        print(f"rasim: no parameter matches {args.search!r}", file=sys.stderr)
        return 1
    fingerprint = model.sets.parameter_set(name).fingerprint
    print(f"# parameter set {name} (fingerprint {fingerprint}); sets: {', '.join(parameter_sets())}")
    for i, (table, rows) in enumerate(found.items()):
        if i:
            print()
        print(f"# {table}: {model.TABLE_FILES[table].title} (data/{model.TABLE_FILES[table].file})")
        _print_entries(rows)
    return 0


def _tables(table: str | None) -> list[str]:
    """The tables to show: ``table`` or all of them."""
    return [table] if table else list(model.TABLE_FILES)


def _print_entries(rows) -> None:
    """Table entries as aligned columns name, value (bound flag), start, unit, range, kind, source."""
    table = [("name", "value", "start", "unit", "range", "kind", "source")]
    table += [
        (
            p.name,
            f"{p.value:.6g}{_bound_flag(p)}",
            "-" if p.start is None else f"{p.start:.6g}",
            p.unit,
            f"{p.low:.4g}-{p.high:.4g}",
            p.kind,
            p.source,
        )
        for p in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    for r in table:
        print("  ".join(f"{c:{w}s}" for c, w in zip(r, widths)) + "  " + r[6])


def _bound_flag(p) -> str:
    """ " (at low bound)" / " (at high bound)" for a fitted or chosen value on or within 1% of a bound."""
    side = p.at_bound if p.kind in ("calibrated", "assumed", "literature") else ""
    return f" (at {side} bound)" if side else ""


def _print_diff(a: str, b: str, table: str | None) -> int:
    rows = [row for row in model.sets.diff(a, b) if row[0] in _tables(table)]
    print(f"# {len(rows)} values differ between {a} and {b}")
    for t, name, x, y in rows:
        print(f"{t:18s} {name:24s} {x:>12.6g} {y:>12.6g}")
    return 0


def cmd_run(args) -> int:
    from . import runner
    from .cohort.pipeline import Dask

    runner.check_threads(args.threads)
    if args.dask is None:
        return _run(args, None)
    with Dask.connect(args.dask) as executor:
        return _run(args, executor)


def _run(args, executor) -> int:
    """``rasim run`` on ``executor`` (None: ``rasim.cohort.pipeline.default_executor``)."""
    from . import runner
    from .tables import table

    t0 = time.perf_counter()
    if args.resume is not None:
        given = [
            flag
            for flag, v in (
                ("SCENARIO", args.scenario),
                ("--out", args.out),
                ("--keep", args.keep),
                ("--unsafe-params", args.unsafe_params or None),
                ("--overwrite", args.overwrite or None),
                ("--chunk-size", args.chunk_size),
                *((f"--{k.replace('_', '-')}", getattr(args, k)) for k in OVERRIDES),
            )
            if v is not None
        ]
        if given:
            raise RasimError(f"--resume continues the run in its folder as it was started; drop {', '.join(given)}")
        results = runner.resume_run(args.resume, threads=args.threads, quiet=args.quiet, executor=executor)
        out = args.resume
    else:
        scenario = _scenario(args)
        out = args.out or DEFAULT_OUT / scenario.name
        results = runner.run_scenario(
            scenario,
            out,
            threads=args.threads,
            quiet=args.quiet,
            keep=args.keep or "patients",
            overwrite=args.overwrite,
            chunk_size=args.chunk_size,
            executor=executor,
        )
    if not args.quiet:
        if results:  # the summary table of the run (its scenario is the folder's scenario.toml)
            print(table(load(Path(out) / "scenario.toml"), results, time.perf_counter() - t0))
        print(f"results: {out}")
    return 0


def cmd_sweep(args) -> int:
    from .sweep import SETTINGS, check_size, sweep

    axes = dict(args.grid)  # a name given twice: the last --grid
    for name, values in axes.items():
        if values is None:
            if name in SETTINGS:
                raise RasimError(f"give the values of the regimen setting {name}: --grid {name}=V,V,...")
            parameter(name)  # an unknown name refused with suggestions
    gate.limit("patients", args.patients, "sweep: --patients")
    check_size({n: args.points if v is None else len(v) for n, v in axes.items()}, args.patients, args.day)
    grid = {}
    for name, values in axes.items():  # built once their size is known to be within the ceilings
        if values is None:
            entry = parameter(name)
            values = _grid(entry.low, entry.high, args.points)
        grid[name] = values
    out = args.out or DEFAULT_OUT / "sweep"
    output.refuse_occupied(out, args.overwrite)
    result = sweep(
        grid,
        base_arm=args.arm,
        patients=args.patients,
        day=args.day,
        endpoint=args.endpoint,
        seed=args.seed,
        threads=args.threads,
    )
    names = result.names
    with output.claimed(out, args.overwrite), output.atomic(out / "sweep.png") as png:
        result.to_csv(out / "sweep.csv")
        if len(names) == 2:
            result.heatmap(names[0], names[1], png)
        else:
            result.plot(names[0], png)
    if not args.quiet:
        print(result.title)
        _print_rows(result.rows, [*names, "mean", *(("sd", "n", "failed") if args.patients else ("status",))])
        print(f"results: {out}")
    return 0


def cmd_explore(args) -> int:
    from . import explore

    explore.warm_up(lambda line: print(f"rasim: {line}", file=sys.stderr, flush=True))
    print(f"rasim: the explorer is at http://localhost:{args.port} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    explore.serve(args.port, show=not args.no_browser)
    return 0


def cmd_sensitivity(args) -> int:
    from . import sensitivity

    method = getattr(sensitivity, args.method)
    size = {"sobol": "n", "morris": "trajectories"}[args.method]
    samples = args.samples or {"sobol": 128, "morris": 20}[args.method]
    out = args.out or DEFAULT_OUT / f"sensitivity.{args.method}"
    output.refuse_occupied(out, args.overwrite)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = method(
                args.params, endpoint=args.endpoint, day=args.day, arm=args.arm, seed=args.seed, **{size: samples}
            )
    except ImportError as e:
        raise RasimError(str(e)) from None
    for w in caught:
        print(f"rasim: warning: {w.message}", file=sys.stderr)
    rows = result.rows
    with output.claimed(out, args.overwrite), output.atomic(out / "sensitivity.png") as png:
        write_csv(out / "sensitivity.csv", list(rows[0]), rows)
        result.plot(png)
    if not args.quiet:
        print(
            f"{args.method}: {args.endpoint} at day {args.day:g}, arm {args.arm}, typical patient, "
            f"{len(result.Y)} simulations ({result.failed} without active disease)"
        )
        _print_rows(rows, ["param", "low", "high", *result.indices])
        print(f"results: {out}")
    return 0


# -- helpers -----------------------------------------------------------------


def _scenario(args) -> Scenario:
    """The loaded scenario with the command line's overrides applied (and validated)."""
    if args.parameter_set is not None and args.parameter_set not in parameter_sets():
        raise RasimError(
            f"--parameter-set: {unknown_name('parameter set', args.parameter_set, parameter_sets())} "
            f"Parameter sets: {', '.join(parameter_sets())}."
        )
    scenario = load(args.scenario or DEFAULT_SCENARIO, allow_out_of_range=getattr(args, "unsafe_params", False))
    changes = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
    return scenario.replace(source=f"{scenario.source} with command-line options", **changes) if changes else scenario


def _print_rows(rows: list[dict], columns: list[str]) -> None:
    cells = [[c if isinstance(c, str) else f"{c:.4g}" for c in (r[k] for k in columns)] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(columns, *cells)]
    for line in (columns, *cells):
        print("  ".join(x.rjust(w) for x, w in zip(line, widths)))


def _grid(low: float, high: float, n: int) -> list[float]:
    """`n` values over [low, high]: log-spaced if low > 0, else evenly spaced."""
    grid = np.geomspace(low, high, n) if low > 0 else np.linspace(low, high, n)
    return [min(max(float(f"{v:.4g}"), low), high) for v in grid]  # rounded, within the range


def _int(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _grid_item(text: str) -> tuple[str, list[float] | None]:
    """'msc_cells=1e7,4e7' -> ('msc_cells', [1e7, 4e7]); 'name' -> ('name', None)."""
    name, sep, values = text.partition("=")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=V,V,... or NAME, got {text!r}")
    return name.strip(), _numbers(values) if sep else None


def _names(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return items


def _numbers(text: str) -> list[float]:
    """'0,28,91' -> [0.0, 28.0, 91.0]."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or not all(items):
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return [_number(t) for t in items]


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors printed as ``rasim: error: ...`` (status 2)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"rasim: error: {self.prog[len('rasim ') :] + ': ' if ' ' in self.prog else ''}{message}\n")


def _output_options(p: argparse.ArgumentParser, folder: str) -> None:
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default {DEFAULT_OUT}/{folder}); refused if another rasim process is "
        "writing it or, without --overwrite, if it holds anything",
    )
    p.add_argument("--overwrite", action="store_true", help="replace rasim's result files already in --out")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _analysis_options(p: argparse.ArgumentParser, patients: bool) -> None:
    p.add_argument("--arm", default="msc+dmard", metavar="ARM", help="built-in base arm (default msc+dmard)")
    if patients:
        p.add_argument(
            "--patients",
            type=_int(0),
            default=0,
            metavar="N",
            help="patients per grid point (default 0: the typical patient)",
        )
    p.add_argument("--day", type=_number, default=365.0, metavar="D", help="endpoint day (default 365)")
    p.add_argument(
        "--endpoint",
        default="DAS28_ESR",
        metavar="E",
        help="an observable or <observable>_change"
        + (", or with --patients a responder criterion" if patients else "")
        + " (default DAS28_ESR)",
    )
    p.add_argument("--seed", type=_int(0), default=0, metavar="S", help="random seed (default 0)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rasim",
        description="Simulate rheumatoid arthritis trials under MSC therapy and methotrexate.",
        epilog="SCENARIO: a built-in name (`rasim scenarios`) or a .toml file; see docs/scenarios.md.",
    )
    parser.add_argument("--version", action="version", version=f"rasim {version()}")
    sub = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    scen = _Parser(add_help=False)
    scen.add_argument("scenario", nargs="?", help=f"built-in name or .toml file (default {DEFAULT_SCENARIO})")
    scen.add_argument("--patients", type=_int(1), metavar="N", help="patients per arm")
    scen.add_argument("--seed", type=_int(0), metavar="S", help="random seed")
    scen.add_argument(
        "--days", type=_number, metavar="D", help="horizon in days (alone, also trims the observation days)"
    )
    scen.add_argument(
        "--observe",
        type=_numbers,
        metavar="DAYS",
        help="output days, e.g. 0,28,91 (day 0, the baseline, is added if missing)",
    )
    scen.add_argument(
        "--parameter-set",
        metavar="NAME",
        help="simulate with parameter set NAME (`rasim params --set`; default: the scenario's "
        "parameter_set, else the set in use); the scenario's [params] apply on top",
    )
    run = _Parser(add_help=False)
    run.add_argument("--threads", type=_int(1), metavar="T", help="threads (default: all cores)")
    _output_options(run, "<scenario name>")
    run.add_argument(
        "--keep",
        choices=("patients", "summary"),
        help="patients (default): per-patient Parquet files and dataset.csv besides the "
        "summaries; summary: summaries only",
    )
    run.add_argument(
        "--chunk-size",
        type=_int(1),
        metavar="N",
        help="patients per saved chunk (default: up to 1000, fewer with many observation days); "
        "the results do not depend on it",
    )
    run.add_argument(
        "--dask",
        metavar="ADDRESS|local[:N]",
        help="run the chunks on a Dask cluster: a scheduler address (tcp://host:8786), or local:N for N "
        "worker processes on this machine (default: $RASIM_DASK, else this process); same files either way",
    )
    run.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the interrupted run in DIR (same files as an uninterrupted run)",
    )
    run.add_argument(
        "--unsafe-params",
        action="store_true",
        help="accept [params] outside their plausible range (a warning is written with the results)",
    )

    sub.add_parser("scenarios", help="list the built-in scenarios").set_defaults(command=cmd_scenarios)
    sub.add_parser("show", parents=[scen], help="print the resolved scenario as TOML").set_defaults(command=cmd_show)
    p = sub.add_parser(
        "params",
        help="the parameter set's tables (name, value in use, start, unit, range, kind, source)",
        description="The parameter set's tables, a section each: params (the model parameters; a scenario's "
        "[params]), measurement (visit noise, flares, placebo), variability (between-patient SD of log per "
        "parameter; a scenario's [variability]), correlations (between log-parameters) and covariate_effects. "
        "Values on or within 1% of a bound are flagged.",
    )
    p.add_argument("--table", choices=list(model.TABLE_FILES), help="only this table (default: every table)")
    p.add_argument("--search", metavar="WORD", help="only entries whose name, meaning, kind or source has WORD")
    p.add_argument("--set", metavar="NAME", help="show parameter set NAME (default: the one in use)")
    p.add_argument("--diff", nargs=2, metavar=("SET", "SET"), help="the values that differ between two sets")
    p.set_defaults(command=cmd_params)
    sub.add_parser("run", parents=[scen, run], help="simulate a scenario's cohort").set_defaults(command=cmd_run)
    p = sub.add_parser(
        "sweep", help="an endpoint over a grid of parameters and regimen settings (typical patient or cohorts)"
    )
    p.add_argument(
        "--grid",
        type=_grid_item,
        action="append",
        required=True,
        metavar="NAME=V,V,...",
        help="a parameter or msc_cells, msc_interval (days), mtx_dose (mg weekly) with its values; "
        "a parameter without values takes --points values over its plausible range",
    )
    p.add_argument(
        "--points",
        type=_int(2),
        default=5,
        metavar="N",
        help="values for a --grid parameter given without values (default 5)",
    )
    p.add_argument("--threads", type=_int(1), metavar="T", help="threads (default: all cores)")
    _output_options(p, "sweep")
    _analysis_options(p, patients=True)
    p.set_defaults(command=cmd_sweep)
    p = sub.add_parser(
        "sensitivity",
        help="Sobol or Morris sensitivity of the typical patient (needs SALib: pip install rasim[sensitivity])",
    )
    p.add_argument(
        "--params",
        type=_names,
        required=True,
        metavar="NAME,NAME,...",
        help="parameters, each varied over its plausible range",
    )
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol", help="default sobol")
    p.add_argument(
        "--samples",
        type=_int(2),
        metavar="N",
        help="Sobol base samples (default 128, a power of 2) or Morris trajectories (default 20)",
    )
    _output_options(p, "sensitivity.<method>")
    _analysis_options(p, patients=False)
    p.set_defaults(command=cmd_sensitivity)
    p = sub.add_parser("explore", help="the interactive explorer in the browser (pip install rasim[explore])")
    p.add_argument("--port", type=_int(1), default=5006, metavar="P", help="port on localhost (default 5006)")
    p.add_argument("--no-browser", action="store_true", help="serve without opening a browser")
    p.set_defaults(command=cmd_explore)
    return parser
