"""Clinical scores against hand-computed values (arithmetic written out)."""

import math

import numpy as np
import pytest

from rasim import clinical as c


# -- DAS28 -------------------------------------------------------------------


def test_das28_esr_hand_computed():
    # 0.56*sqrt(10) = 0.56*3.16227766017 = 1.77087548969
    # 0.28*sqrt(5)  = 0.28*2.23606797750 = 0.62609903370
    # 0.70*ln(30)   = 0.70*3.40119738166 = 2.38083816716
    # 0.014*50      = 0.7
    assert c.das28_esr(10, 5, 30, 50) == pytest.approx(5.47781269056, abs=1e-10)
    # 0.56*4 + 0.28*2 + 0.70*ln(20) + 0.014*40 = 2.24 + 0.56 + 2.09701259149 + 0.56
    assert c.das28_esr(16, 4, 20, 40) == pytest.approx(5.45701259149, abs=1e-10)
    # 0.56*sqrt(28) + 0.28*sqrt(28) + 0.70*ln(100) + 1.4
    #   = 2.96324146839 + 1.48162073420 + 3.22361913019 + 1.4
    assert c.das28_esr(28, 28, 100, 100) == pytest.approx(9.06848133278, abs=1e-10)
    assert c.das28_esr(0, 0, 1, 0) == 0.0


def test_das28_esr_floors_esr_at_1():
    # 0.56*2 + 0.28*3 + 0.70*ln(1) + 0.014*20 = 1.12 + 0.84 + 0 + 0.28
    assert c.ESR_FLOOR == 1.0
    assert c.das28_esr(4, 9, 1, 20) == pytest.approx(2.24, abs=1e-12)
    assert c.das28_esr(4, 9, 0.5, 20) == pytest.approx(2.24, abs=1e-12)
    assert c.das28_esr(4, 9, 0.0, 20) == pytest.approx(2.24, abs=1e-12)


def test_das28_crp_hand_computed():
    # 1.12 + 0.84 + 0.36*ln(10) + 0.28 + 0.96 = 3.2 + 0.36*2.302585093 = 3.2 + 0.828930633
    assert c.das28_crp(4, 9, 9, 20) == pytest.approx(4.02893063348, abs=1e-10)
    # 1.77087548969 + 0.62609903370 + 0.36*ln(31) + 0.7 + 0.96, 0.36*3.43398720449 = 1.23623539361
    assert c.das28_crp(10, 5, 30, 50) == pytest.approx(5.29320991701, abs=1e-10)
    # 2.96324146839 + 1.48162073420 + 0.36*ln(101) + 1.4 + 0.96, 0.36*4.61512051684 = 1.66144338606
    assert c.das28_crp(28, 28, 100, 100) == pytest.approx(8.46630558865, abs=1e-10)
    assert c.das28_crp(0, 0, 0, 0) == pytest.approx(0.96, abs=1e-15)


def test_das28_vectorised_and_broadcast():
    got = c.das28_esr(np.array([10, 16, 4]), np.array([5, 4, 9]), np.array([30, 20, 1]), np.array([50, 40, 20]))
    np.testing.assert_allclose(got, [5.47781269056, 5.45701259149, 2.24], atol=1e-10)
    got = c.das28_crp([4, 0], [9, 0], [9, 0], 20)  # scalar GH broadcast
    np.testing.assert_allclose(got, [4.02893063348, 0.96 + 0.28], atol=1e-10)
    assert c.das28_esr(np.zeros((2, 3)), 0, 1, 0).shape == (2, 3)
    assert np.isnan(c.das28_esr(np.nan, 0, 1, 0))


def test_das28_category_edges():
    das = [0.0, 2.59, 2.6, 3.2, 3.21, 5.1, 5.11, 9.0, np.nan]
    codes = c.das28_category(das)
    assert codes.dtype == np.int64
    assert codes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, c.UNKNOWN]
    assert (c.CAT_REMISSION, c.CAT_LOW, c.CAT_MODERATE, c.CAT_HIGH) == (0, 1, 2, 3)
    assert c.das28_category(das, names=True).tolist() == [
        "remission",
        "remission",
        "low",
        "low",
        "moderate",
        "moderate",
        "high",
        "high",
        "",
    ]
    assert c.das28_category(3.2) == c.CAT_LOW
    assert c.das28_category(5.2, names=True) == "high"
    assert (c.REMISSION, c.LOW, c.HIGH) == (2.6, 3.2, 5.1)


def test_remission_and_low_activity():
    das = np.array([2.59, 2.6, 3.2, 3.21, np.nan])
    assert c.in_remission(das).tolist() == [True, False, False, False, False]
    assert c.low_activity(das).tolist() == [True, True, True, False, False]
    assert c.in_remission(1.0) and not c.low_activity(4.0)


# -- EULAR -------------------------------------------------------------------

N, M, G = c.EULAR_NONE, c.EULAR_MODERATE, c.EULAR_GOOD


@pytest.mark.parametrize(
    "baseline, now, expected",
    [
        # current <= 3.2
        (2.6, 2.0, N),
        (2.61, 2.0, M),
        (3.2, 2.0, M),
        (3.21, 2.0, G),
        (5.0, 2.0, G),
        (3.8, 3.2, N),
        (3.81, 3.2, M),
        (4.4, 3.2, M),
        (4.41, 3.2, G),
        # 3.2 < current <= 5.1
        (3.81, 3.21, N),
        (3.82, 3.21, M),
        (4.41, 3.21, M),
        (4.42, 3.21, M),
        (7.0, 4.0, M),
        (5.7, 5.1, N),
        (5.71, 5.1, M),
        (6.3, 5.1, M),
        (6.31, 5.1, M),
        # current > 5.1
        (5.71, 5.11, N),
        (5.72, 5.11, N),
        (6.31, 5.11, N),
        (6.32, 5.11, M),
        (8.0, 5.5, M),
        # worsening or no change
        (3.0, 4.0, N),
        (4.0, 4.0, N),
        (6.0, 7.0, N),
    ],
)
def test_eular_full_table(baseline, now, expected):
    assert c.eular_response(baseline, now) == expected


def test_eular_vectorised_and_nan():
    got = c.eular_response(np.array([5.0, 5.0, 6.0, np.nan]), np.array([4.4, 3.0, 5.5, 3.0]))
    assert got.dtype == np.int64
    assert got.tolist() == [N, G, N, c.UNKNOWN]
    assert c.eular_response(5.0, [2.0, 3.0, 3.5]).tolist() == [G, G, M]


# -- ACR ---------------------------------------------------------------------

BASE = dict(tjc=10.0, sjc=10.0, pain=50.0, patient_global=50.0, physician_global=50.0, haq=1.125, crp=20.0, esr=40.0)


def now(**changes):
    return {**BASE, **changes}


def test_acr20_needs_tjc_sjc_and_3_of_5():
    # TJC 10->8, SJC 10->8 (20 %), pain 50->40, patient 50->40, CRP 20->16: 3 of 5 improved 20 %
    three = now(tjc=8, sjc=8, pain=40, patient_global=40, crp=16)
    assert c.acr_response(BASE, three)
    assert not c.acr_response(BASE, {**three, "crp": 16.5})  # only 2 of 5
    assert not c.acr_response(BASE, {**three, "tjc": 9})  # TJC 10 % only
    assert not c.acr_response(BASE, {**three, "sjc": 9})
    # HAQ 1.125 -> 0.9 is exactly 20 % (0.225 / 1.125); physician 50 -> 40
    assert c.acr_response(BASE, now(tjc=8, sjc=8, haq=0.9, physician_global=40, pain=40))
    # all five core measures but TJC/SJC unchanged: no response
    assert not c.acr_response(BASE, now(pain=0, patient_global=0, physician_global=0, haq=0, crp=0))


def test_acr50_and_acr70():
    half = now(tjc=5, sjc=5, pain=25, patient_global=25, physician_global=25)
    assert c.acr_response(BASE, half, level=50)
    assert not c.acr_response(BASE, half, level=70)
    assert c.acr_response(BASE, half, level=20)
    seventy = now(tjc=3, sjc=3, pain=15, haq=0.3375, crp=6)  # 70 %: 0.3375 = 0.3 * 1.125
    assert c.acr_response(BASE, seventy, level=70)
    assert not c.acr_response(BASE, {**seventy, "tjc": 3.1}, level=70)


def test_acr_apr_choice():
    # pain, patient global + APR: CRP improved, ESR not
    x = now(tjc=8, sjc=8, pain=40, patient_global=40, crp=10)
    assert c.acr_response(BASE, x)  # apr="crp" by default
    assert not c.acr_response(BASE, x, apr="esr")
    assert c.acr_response(BASE, {**x, "esr": 30}, apr="esr")
    no_crp = {k: v for k, v in BASE.items() if k != "crp"}
    assert c.acr_response(no_crp, {**x, "esr": 30}, apr="esr")  # CRP not needed
    with pytest.raises(ValueError, match="lacks \\['crp'\\]"):
        c.acr_response(no_crp, x)
    with pytest.raises(ValueError, match="apr must be 'crp' or 'esr'"):
        c.acr_response(BASE, x, apr="il6")
    with pytest.raises(ValueError, match="level must be a percentage"):
        c.acr_response(BASE, x, level=0)


def test_acr_zero_baseline_is_not_improved():
    zero = {**BASE, "sjc": 0.0}
    assert not c.acr_response(zero, now(tjc=0, sjc=0, pain=0, patient_global=0, crp=0))
    zero_core = {**BASE, "pain": 0.0, "patient_global": 0.0}
    # pain/patient from 0 cannot count: physician + CRP = 2 of 5
    x = now(tjc=8, sjc=8, pain=0, patient_global=0, physician_global=40, crp=16)
    assert not c.acr_response(zero_core, x)
    assert c.acr_response(zero_core, {**x, "haq": 0.5})  # + HAQ: 3 of 5


def test_acr_vectorised():
    base = {k: np.full(3, v) for k, v in BASE.items()}
    x = {k: np.full(3, v) for k, v in now(pain=40, patient_global=40, crp=16).items()}
    x["tjc"] = np.array([8.0, 9.0, 2.0])
    x["sjc"] = np.array([8.0, 8.0, np.nan])
    assert c.acr_response(base, x).tolist() == [True, False, False]


# -- rounding ----------------------------------------------------------------


def test_round_haq():
    x = [-0.3, 0.0, 0.06, 0.0625, 0.1, 0.18, 0.19, 1.0, 2.9, 2.95, 3.4]
    assert c.round_haq(x).tolist() == [0.0, 0.0, 0.0, 0.125, 0.125, 0.125, 0.25, 1.0, 2.875, 3.0, 3.0]
    assert c.round_haq(1.3) == 1.25  # 1.3 / 0.125 = 10.4 -> 10 steps
    assert c.HAQ_MCID == 0.22
    assert math.isnan(c.round_haq(np.nan))


def test_round_esr():
    x = [0.0, 0.2, 1.4, 1.5, 29.6, 30.49, 120.0]
    assert c.round_esr(x).tolist() == [1.0, 1.0, 1.0, 2.0, 30.0, 30.0, 120.0]
    assert c.round_esr(7.7) == 8.0
    assert math.isnan(c.round_esr(np.nan))
