"""Resilience tests in plain Python: a topology up for a group of tests, load, faults as
context managers, steady-state assertions. The pytest plugin's fixtures hand these out.
"""

from chaoskit.testing.outcome import ExperimentOutcome, VerdictText, run_file
from chaoskit.testing.steady import SteadyCheck, SteadyStateViolation
from chaoskit.testing.system import ChaosSystem, FaultBlock, Load

__all__ = ["ChaosSystem", "ExperimentOutcome", "FaultBlock", "Load", "SteadyCheck",
           "SteadyStateViolation", "VerdictText", "run_file"]
