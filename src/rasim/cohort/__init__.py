"""Monte Carlo cohorts: virtual patients, trial populations and arms, summaries.

``Cohort(arm, patients, seed).run()`` gives a ``CohortResult`` (``keep="summary"``:
a ``StreamingSummary``; both are ``CohortSummary`` s, patients' outcomes are
``PatientStatus`` codes); populations
and arms are in ``arms``, dropout, rescue and analysis rules in ``analysis``,
between-patient variability in ``variability``,
clinic measurement in ``measurement``, the compiled kernels in ``kernel``.
Running a scenario and writing its files is the application layer's:
``rasim.runner.run_scenario``.
"""

from .analysis import ANALYSES, Dropout, Rescue
from .arms import ARMS, POPULATIONS, Arm, Entry, Population, arm, population
from .cohort import DEFAULT_DAYS, NOT_ENROLLED, NOT_SETTLED, Chunk, Cohort, CohortPlan, CohortProblem, warm_up
from .result import CRITERIA, ENDPOINTS, ArmSummary, CohortResult, CohortSummary, trial_replicates
from .status import PatientStatus
from .streaming import StreamingSummary

__all__ = [
    "ARMS",
    "POPULATIONS",
    "Arm",
    "Entry",
    "Dropout",
    "Rescue",
    "ANALYSES",
    "Population",
    "arm",
    "population",
    "Cohort",
    "CohortResult",
    "CohortPlan",
    "CohortProblem",
    "Chunk",
    "DEFAULT_DAYS",
    "NOT_ENROLLED",
    "NOT_SETTLED",
    "CRITERIA",
    "ENDPOINTS",
    "trial_replicates",
    "warm_up",
    "CohortSummary",
    "ArmSummary",
    "StreamingSummary",
    "PatientStatus",
]
