"""Monte Carlo cohorts: virtual patients, trial populations and arms, summaries.

``Cohort(arm, patients, seed).run()`` gives a ``CohortResult``; populations
and arms are in ``arms``, between-patient variability in ``variability``,
clinic measurement in ``measurement``, the compiled kernels in ``kernel``.
``run_scenario`` (from ``rasim.runner``) runs a scenario's arms and writes files.
"""
from .arms import ARMS, POPULATIONS, Arm, Entry, Population, arm, population
from .cohort import DEFAULT_DAYS, NOT_ENROLLED, NOT_SETTLED, Chunk, Cohort, CohortProblem, warm_up
from .result import CRITERIA, ENDPOINTS, CohortResult, trial_replicates

__all__ = ["ARMS", "POPULATIONS", "Arm", "Entry", "Population", "arm", "population", "Cohort",
           "CohortResult", "CohortProblem", "Chunk", "DEFAULT_DAYS", "NOT_ENROLLED", "NOT_SETTLED",
           "CRITERIA", "ENDPOINTS", "trial_replicates", "warm_up", "run_scenario"]


def run_scenario(scenario, out_dir, **options):
    """Simulate a scenario's arms and write the result files: :func:`rasim.runner.run_scenario`."""
    from ..runner import run_scenario as run  # imported here: rasim.runner imports this package

    return run(scenario, out_dir, **options)
