"""The experiment group against the control group: a margin and a one-sided test.

Netflix's ChAP judges an experiment by its control, not by a fixed bound: both
groups see the same machine and the same traffic at the same time, so what
happens to both (a busy CPU, a burst of load) cancels out. A compared probe
deviates when

- the experiment's value over the window lies beyond the margin from the
  control's (``max_drop``, ``max_rise``, ``max_ratio``), **and**
- a one-sided permutation test of the difference between the two groups'
  means of per-second values, the experiment's moved back by the margin,
  rejects "no worse than the margin" at level ``alpha``.

Why a permutation test of means: a fault makes some seconds of a window bad
and leaves the others as good as the control's (an instance down for 4 of 8
seconds), and the window's value is a mean-like figure of all of them. A
rank test (Mann-Whitney U, Kayenta's) asks whether a *typical* second is
worse, which such a window does not show: in a real run with the playback
retries switched off, 0.809 against 1.000 over 8 s gave Mann-Whitney p = 0.20,
the permutation test p = 0.04. Per-second ratios pile up at 1.0 and per-second
percentiles are skewed, so a t-test's normality does not hold either; the
permutation test assumes nothing but exchangeable seconds under the null,
handles ties and constant groups (p = 1), and is exact for small windows
(up to 6 s each). Moving the experiment back by the margin makes the test ask
the margin's question ("more than 0.01 below control?"), not only "different?".
A window of n seconds per group cannot reach a p below 1 / C(2n, n), so a
compared probe needs a few seconds of data (``Compare.min_seconds``); the
loader refuses windows that could never deviate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Literal

import numpy as np

from chaoskit.model.probes import Compare

TEST = "permutation test of means, one-sided"
RESAMPLES = 4999
"""Beyond this many distinct splits of the seconds the test samples them (seeded, so a
journal tested again gets the same p): p is then good to about ±0.003 near 0.05."""


@dataclass(frozen=True)
class Comparison:
    """Both groups' values over one window and the test's verdict on them."""

    compare: Compare
    value: float | None
    """The experiment group's value over the window."""
    control: float | None
    p_value: float | None
    """None when a group has no per-second value to test."""
    values: tuple[float, ...]
    control_values: tuple[float, ...]

    @property
    def holds(self) -> bool:
        return self.compare.holds(self.value, self.control, self.p_value)

    @property
    def test(self) -> str:
        n, m = len(self.values), len(self.control_values)
        return f"{TEST}, {n} s each" if n == m else f"{TEST}, {n} s vs {m} s"

    def detail(self, unit: str = "") -> str:
        """``experiment 0.901 vs control 0.999, p < 0.001 (permutation test of means, one-sided,
        10 s each)``."""
        if self.value is None or self.control is None or self.p_value is None:
            missing = "experiment" if not self.values else "control"
            return f"no {missing} samples to compare"
        return (f"experiment {_number(self.value)}{unit} vs control "
                f"{_number(self.control)}{unit}, {p_text(self.p_value)} ({self.test})")


def compare_groups(compare: Compare, values: Sequence[float], control_values: Sequence[float],
                   *, value: float | None = None, control: float | None = None) -> Comparison:
    """Judge the experiment's per-second ``values`` against the control's.

    ``value`` and ``control`` are each group's value over the whole window (a ratio of
    the window's requests, a percentile of its merged histogram); by default the mean of
    the per-second values.
    """
    exp, ctl = tuple(values), tuple(control_values)
    if value is None and exp:
        value = fmean(exp)
    if control is None and ctl:
        control = fmean(ctl)
    return Comparison(compare=compare, value=value, control=control,
                      p_value=p_beyond_margin(compare, exp, ctl), values=exp,
                      control_values=ctl)


def p_beyond_margin(compare: Compare, values: Sequence[float],
                    control_values: Sequence[float]) -> float | None:
    """The one-sided p-value of "the experiment lies beyond the margin from the control".

    Small when the experiment's per-second values, moved back by the margin, are still
    worse than the control's: below them for ``max_drop``, above them for ``max_rise``
    and ``max_ratio``. None without values in both groups; 1.0 (no evidence) with a
    single second in either.
    """
    if not values or not control_values:
        return None
    if len(values) < 2 or len(control_values) < 2:
        return 1.0  # one second against another can never be told from noise
    shifted: list[float]
    alternative: Literal["less", "greater"]
    if compare.max_drop is not None:
        shifted, alternative = [v + compare.max_drop for v in values], "less"
    elif compare.max_rise is not None:
        shifted, alternative = [v - compare.max_rise for v in values], "greater"
    else:
        ratio = compare.max_ratio or 1.0
        shifted, alternative = [v / ratio for v in values], "greater"
    # Imported here: scipy.stats takes a second or more to import, and the reports (and a
    # Chaos Toolkit run) reach this module without ever comparing two groups.
    from scipy.stats import permutation_test

    result = permutation_test((shifted, list(control_values)), _mean_difference,
                              permutation_type="independent", alternative=alternative,
                              n_resamples=RESAMPLES, vectorized=True,
                              rng=np.random.default_rng(0))
    return float(result.pvalue)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)  # type: ignore[no-any-return]


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
