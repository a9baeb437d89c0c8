"""A/B test statistics, without scipy: two-proportion z-test, probability to beat control,
and the sample size still needed.

Conversion rate = orders / human clicks of a variant. The probability to beat control is the
posterior P(rate_B > rate_A) with uniform Beta(1, 1) priors: Evan Miller's closed form (a sum
of ``conversions_B`` terms, in log space) while that is small, a normal approximation of the
two Beta posteriors beyond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_ALPHA = 1.959963984540054  # two-sided 5 % significance
Z_POWER = 0.8416212335729143  # 80 % power
_EXACT_UP_TO = 20_000  # conversions of B summed exactly; beyond, the normal approximation


@dataclass(frozen=True, slots=True)
class Comparison:
    z: float | None  # None: undefined (no data, or both rates 0 or 1)
    p_value: float | None  # two-sided
    # P(variant's rate > control's); None while neither arm has a conversion: the posterior
    # would then only reflect the arms' click counts (0 of 10 "beats" 0 of 33 at 76 %).
    probability_to_beat: float | None
    needed_per_variant: int | None  # human clicks each arm needs for 80 % power; None: ∞


def z_test(conv_a: int, n_a: int, conv_b: int, n_b: int) -> tuple[float | None, float | None]:
    """(z, two-sided p-value) of the pooled two-proportion z-test of B against A."""
    if n_a <= 0 or n_b <= 0:
        return None, None
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return None, None
    z = (conv_b / n_b - conv_a / n_a) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def probability_to_beat(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    """P(p_B > p_A) for p_X ~ Beta(1 + conversions, 1 + non-conversions)."""
    a_a, b_a = conv_a + 1, n_a - conv_a + 1
    a_b, b_b = conv_b + 1, n_b - conv_b + 1
    if a_b - 1 <= _EXACT_UP_TO:
        total = 0.0
        base = _log_beta(a_a, b_a)
        for i in range(a_b):
            total += math.exp(
                _log_beta(a_a + i, b_a + b_b) - math.log(b_b + i) - _log_beta(1 + i, b_b) - base
            )
        return min(1.0, max(0.0, total))
    mean_a, mean_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
    var_a = a_a * b_a / ((a_a + b_a) ** 2 * (a_a + b_a + 1))
    var_b = a_b * b_b / ((a_b + b_b) ** 2 * (a_b + b_b + 1))
    return 0.5 * math.erfc(-(mean_b - mean_a) / math.sqrt(2 * (var_a + var_b)))


def needed_per_variant(rate_a: float, rate_b: float) -> int | None:
    """Human clicks per arm to detect the observed difference (5 % two-sided, 80 % power)."""
    delta = abs(rate_b - rate_a)
    if delta == 0:
        return None
    mean = (rate_a + rate_b) / 2
    root = Z_ALPHA * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        rate_a * (1 - rate_a) + rate_b * (1 - rate_b)
    )
    return math.ceil(root**2 / delta**2)


def compare(conv_a: int, n_a: int, conv_b: int, n_b: int) -> Comparison:
    z, p = z_test(conv_a, n_a, conv_b, n_b)
    needed = None
    if n_a > 0 and n_b > 0:
        needed = needed_per_variant(conv_a / n_a, conv_b / n_b)
    beat = probability_to_beat(conv_a, n_a, conv_b, n_b) if conv_a + conv_b > 0 else None
    return Comparison(z, p, beat, needed)
