"""The A/B statistics against reference values computed here by other means (textbook
arithmetic, numerical integration of the Beta posteriors), scipy-free."""

from __future__ import annotations

import math

import pytest

from hoplink.links.abstats import compare, needed_per_variant, probability_to_beat, z_test


def _beta_pdf(x: float, a: float, b: float) -> float:
    if x <= 0 or x >= 1:
        return 0.0
    log = (a - 1) * math.log(x) + (b - 1) * math.log(1 - x)
    log -= math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return math.exp(log)


def _reference_beat(conv_a: int, n_a: int, conv_b: int, n_b: int, steps: int = 40_000) -> float:
    """P(B > A) = ∫ f_B(x) F_A(x) dx, by the midpoint rule over a fine grid."""
    a_a, b_a, a_b, b_b = conv_a + 1, n_a - conv_a + 1, conv_b + 1, n_b - conv_b + 1
    h = 1 / steps
    cdf_a = 0.0
    total = 0.0
    for k in range(steps):
        x = (k + 0.5) * h
        pa = _beta_pdf(x, a_a, b_a) * h
        total += _beta_pdf(x, a_b, b_b) * h * (cdf_a + pa / 2)
        cdf_a += pa
    return total


def test_z_test_matches_the_textbook_example() -> None:
    # 100/1000 vs 130/1000: pooled 0.115, se = sqrt(.115 * .885 * .002) = 0.0142671,
    # z = 0.03 / 0.0142671 = 2.10274, p = erfc(2.10274 / sqrt 2) = 0.035490.
    z, p = z_test(100, 1000, 130, 1000)
    assert z == pytest.approx(2.10274, abs=1e-5)
    assert p == pytest.approx(0.035490, abs=1e-5)
    z, p = z_test(130, 1000, 100, 1000)
    assert z == pytest.approx(-2.10274, abs=1e-5) and p == pytest.approx(0.035490, abs=1e-5)


def test_z_test_without_data_is_undefined() -> None:
    assert z_test(0, 0, 5, 10) == (None, None)
    assert z_test(0, 100, 0, 100) == (None, None)


@pytest.mark.parametrize(
    ("conv_a", "n_a", "conv_b", "n_b"),
    [(100, 1000, 130, 1000), (10, 200, 10, 200), (3, 50, 9, 60), (40, 1000, 25, 1000)],
)
def test_probability_to_beat_matches_numerical_integration(
    conv_a: int, n_a: int, conv_b: int, n_b: int
) -> None:
    got = probability_to_beat(conv_a, n_a, conv_b, n_b)
    assert got == pytest.approx(_reference_beat(conv_a, n_a, conv_b, n_b), abs=2e-4)


def test_probability_to_beat_is_a_half_for_equal_arms_and_symmetric() -> None:
    assert probability_to_beat(10, 200, 10, 200) == pytest.approx(0.5, abs=1e-9)
    p = probability_to_beat(100, 1000, 130, 1000)
    assert p + probability_to_beat(130, 1000, 100, 1000) == pytest.approx(1.0, abs=1e-6)


def test_the_normal_approximation_for_large_counts_agrees() -> None:
    # 30,000 conversions of B: past the exact sum's cut-off.
    got = probability_to_beat(29_000, 1_000_000, 30_000, 1_000_000)
    mean_diff = 0.030 - 0.029
    sd = math.sqrt(0.029 * 0.971 / 1e6 + 0.030 * 0.970 / 1e6)
    assert got == pytest.approx(0.5 * math.erfc(-mean_diff / sd / math.sqrt(2)), abs=1e-3)


def test_sample_size_needed() -> None:
    # 10 % vs 13 %: 1.959964 sqrt(2 x .115 x .885) = 0.884267, 0.841621 sqrt(.09 + .1131)
    # = 0.379290; (0.884267 + 0.379290)^2 / .03^2 = 1.596576 / .0009 = 1773.97 -> 1,774.
    assert needed_per_variant(0.10, 0.13) == 1774
    assert needed_per_variant(0.10, 0.10) is None
    result = compare(100, 1000, 130, 1000)
    assert result.needed_per_variant == 1774 and result.p_value is not None


def test_no_probability_to_beat_before_any_conversion() -> None:
    """0 of 10 against 0 of 33 is no evidence; the posterior alone would say 76 %."""
    assert probability_to_beat(0, 33, 0, 10) > 0.7
    assert compare(0, 33, 0, 10).probability_to_beat is None
    assert compare(0, 33, 1, 10).probability_to_beat is not None
    assert compare(1, 33, 0, 10).probability_to_beat is not None
