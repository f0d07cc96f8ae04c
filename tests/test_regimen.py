"""Regimens: construction, expansion to events, NONMEM table, dict round trip, validation."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rasim.errors import RegimenError
from rasim.regimen import DEPOTS, MSC_IA, MSC_IV, MTX_CENTRAL, MTX_GUT, DoseLine, MscDose, MtxDose, Regimen, msc, mtx

THREE_YEARS = 3 * 365


# -- construction and combination --------------------------------------------


def test_depot_codes():
    assert DEPOTS == {
        "mtx_gut": 1,
        "mtx_central": 2,
        "msc_iv": 3,
        "msc_ia": 4,
        "prednisolone_oral": 5,
        "adalimumab_sc": 6,
        "naproxen_oral": 7,
        "celecoxib_oral": 8,
    }
    assert (MTX_GUT, MTX_CENTRAL, MSC_IV, MSC_IA) == (1, 2, 3, 4)


def test_msc_defaults_and_aliases():
    (line,) = msc(4e7)
    assert line == DoseLine("msc", 0.0, 4e7, "cells", "iv", 0.0, 0, "umbilical_cord", "allogeneic", 0)
    assert line.depot == MSC_IV
    assert msc(1e6, source="bm").doses[0].source == "bone_marrow"
    assert msc(1e6, source="AD").doses[0].source == "adipose"
    assert msc(1e6, source="adipose_tissue").doses[0].source == "adipose"
    assert msc(1e6, source="Umbilical Cord").doses[0].source == "umbilical_cord"
    ia = msc(2e7, route="ia", joints=2)
    assert ia.doses[0].route == "intra_articular"
    assert [(d.depot, d.joints) for d in ia] == [(MSC_IA, 2)]


def test_msc_per_kg_and_days():
    reg = msc(1e6, per_kg=True, source="bone_marrow", donor="autologous", days=[120, 0])
    assert [(d.time, d.amount, d.unit) for d in reg] == [(0.0, 1e6, "cells/kg"), (120.0, 1e6, "cells/kg")]
    assert reg.msc_product() == ("bone_marrow", "autologous")


def test_mtx_lines():
    (line,) = mtx(15)
    assert line == DoseLine("mtx", 0.0, 15.0, "mg", "oral", 7.0, None)
    assert line.depot == MTX_GUT
    assert mtx(15, route="sc").lines[0].depot == MTX_CENTRAL
    titr = mtx({0: 7.5, 28: 15, 56: 20}, every=7)
    assert [(d.time, d.amount, d.ii, d.addl) for d in titr] == [
        (0.0, 7.5, 7.0, 3),
        (28.0, 15.0, 7.0, 3),
        (56.0, 20.0, 7.0, None),
    ]


def test_mtx_titration_off_grid_and_until():
    # doses on days 3, 10, 17, 24, 31...; step 2 in force from day 30 -> first at 31
    reg = mtx({0: 7.5, 30: 15}, every=7, start=3, until=60)
    assert [(d.time, d.amount, d.addl) for d in reg] == [(3.0, 7.5, 3), (31.0, 15.0, 4)]
    # a step that begins after until is never given
    assert len(mtx({0: 10, 28: 15, 100: 20}, until=56)) == 2


def test_combination_order_len_equality():
    a, b = msc(4e7, days=[0, 120]), mtx(15, every=7, start=0)
    reg = a + b
    assert isinstance(reg, Regimen)
    assert len(reg) == 3 and len(Regimen()) == 0 and not Regimen()
    assert [d.drug for d in reg] == ["msc", "msc", "mtx"]
    assert reg.doses == a.doses + b.doses
    assert reg == msc(4e7, days=[0, 120], source="uc") + mtx(15.0)
    assert reg != b + a
    assert Regimen() + reg == reg
    assert hash(reg) == hash(msc(4e7, days=[0, 120]) + mtx(15))
    with pytest.raises(dataclasses.FrozenInstanceError):
        reg.doses = ()


def test_repr_is_readable_and_evaluable():
    reg = (
        msc(4e7, days=[0, 120], source="uc")
        + mtx({0: 7.5, 28: 15}, until=200)
        + msc(2e7, route="ia", joints=2, days=[7])
    )
    text = repr(reg)
    assert text.startswith("msc(4e+07, days=[0, 120], source='umbilical_cord'")
    assert "mtx({0: 7.5, 28: 15}, every=7, start=0, until=200, route='oral')" in text
    assert eval(text) == reg
    assert repr(Regimen()) == "Regimen()"


def test_msc_product():
    assert Regimen().msc_product() is None
    assert mtx(15).msc_product() is None
    assert msc(1e6, source="bm", days=[0]).msc_product() == ("bone_marrow", "allogeneic")


# -- events ------------------------------------------------------------------


def test_weekly_doses_over_three_years():
    ev = mtx(15).events(THREE_YEARS)
    assert len(ev) == 157  # days 0, 7, ..., 1092 (1092 = 156 * 7 <= 1095)
    assert ev.time[-1] == 1092.0
    np.testing.assert_array_equal(np.diff(ev.time), 7.0)
    assert set(ev.depot) == {MTX_GUT} and set(ev.amount) == {15.0}
    assert len(mtx(15).events(1092)) == 157  # a dose on the horizon is kept
    assert len(mtx(15).events(1091.9)) == 156


def test_event_dtypes_sorting_and_read_only():
    reg = mtx(15, start=7) + msc(4e7, days=[0, 7]) + msc(2e7, route="ia", joints=3, days=[7])
    ev = reg.events(14)
    assert ev.time.dtype == np.float64 and ev.amount.dtype == np.float64
    assert ev.depot.dtype == np.int64 and ev.joints.dtype == np.int64
    # sorted by time, stable: the MTX line comes first in the regimen
    assert ev.time.tolist() == [0, 7, 7, 7, 14]
    assert ev.depot.tolist() == [MSC_IV, MTX_GUT, MSC_IV, MSC_IA, MTX_GUT]
    assert ev.amount.tolist() == [4e7, 15, 4e7, 2e7, 15]
    assert ev.joints.tolist() == [0, 0, 0, 3, 0]
    with pytest.raises(ValueError):
        ev.time[0] = 1.0


def test_titration_amounts():
    ev = mtx({0: 7.5, 28: 15, 56: 20}, every=7).events(70)
    assert ev.time.tolist() == [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70]
    assert ev.amount.tolist() == [7.5] * 4 + [15] * 4 + [20] * 3


def test_until_is_exclusive_and_start():
    assert mtx(15, until=28).events(100).time.tolist() == [0, 7, 14, 21]
    assert mtx(15, start=3, until=29).events(100).time.tolist() == [3, 10, 17, 24]
    assert mtx(10, every=3.5, until=14).events(100).time.tolist() == [0, 3.5, 7, 10.5]


def test_per_kg_scaling():
    reg = msc(1e6, per_kg=True, days=[0, 30]) + msc(1e6, per_kg=False, days=[60])
    assert reg.events(100, weight_kg=70).amount.tolist() == [7e7, 7e7, 1e6]
    assert msc(4e7).events(10, weight_kg=70).amount.tolist() == [4e7]  # flat: weight unused
    with pytest.raises(RegimenError, match="per kg: pass weight_kg"):
        reg.events(100)
    with pytest.raises(RegimenError, match="weight_kg must be > 0 kg, got 0"):
        reg.events(100, weight_kg=0)


def test_horizon_cut():
    reg = msc(4e7, days=[0, 120]) + mtx(15, start=100)
    ev = reg.events(110)
    assert ev.time.tolist() == [0, 100, 107]
    assert len(Regimen().events(100)) == 0
    assert len(reg.events(0)) == 1
    for bad in (-1, math.inf, math.nan):
        with pytest.raises(RegimenError, match="horizon_days must be"):
            reg.events(bad)


# -- NONMEM event table -------------------------------------------------------

COLUMNS = ["TIME", "AMT", "CMT", "EVID", "II", "ADDL", "DRUG", "ROUTE", "UNIT", "SOURCE", "DONOR", "JOINTS", "DUR"]


def test_event_table_columns_and_addl():
    reg = (
        msc(1e6, per_kg=True, days=[0, 120])
        + mtx({0: 7.5, 28: 15}, until=84)
        + mtx(20, start=84, route="sc")
        + msc(2e7, route="ia", joints=2, days=[7])
    )
    tab = reg.event_table(THREE_YEARS)
    assert list(tab) == COLUMNS
    assert {len(v) for v in tab.values()} == {6}
    assert tab["TIME"].tolist() == [0, 120, 0, 28, 84, 7]
    assert tab["AMT"].tolist() == [1e6, 1e6, 7.5, 15, 20, 2e7]
    assert tab["CMT"].tolist() == [3, 3, 1, 1, 2, 4]
    assert tab["EVID"].tolist() == [1] * 6
    assert tab["II"].tolist() == [0, 0, 7, 7, 7, 0]
    # 0..21: 4 doses; 28..77: 8 doses; 84..1092 (= 84 + 144 * 7 <= 1095): 145 doses
    assert tab["ADDL"].tolist() == [0, 0, 3, 7, 144, 0]
    assert tab["DRUG"].tolist() == ["msc", "msc", "mtx", "mtx", "mtx", "msc"]
    assert tab["ROUTE"].tolist() == ["iv", "iv", "oral", "oral", "subcutaneous", "intra_articular"]
    assert tab["UNIT"].tolist() == ["cells/kg", "cells/kg", "mg", "mg", "mg", "cells"]
    assert tab["SOURCE"].tolist() == ["umbilical_cord"] * 2 + [""] * 3 + ["umbilical_cord"]
    assert tab["DONOR"].tolist() == ["allogeneic"] * 2 + [""] * 3 + ["allogeneic"]
    assert tab["JOINTS"].tolist() == [0, 0, 0, 0, 0, 2]
    for k in ("CMT", "EVID", "ADDL", "JOINTS"):
        assert tab[k].dtype == np.int64
    # the table describes the same doses as events()
    assert int((tab["ADDL"] + 1).sum()) == len(reg.events(THREE_YEARS, weight_kg=70))


def test_event_table_without_horizon():
    tab = (msc(4e7) + mtx(15, until=70)).event_table()
    assert tab["ADDL"].tolist() == [0, 9]
    with pytest.raises(RegimenError, match="open-ended MTX from day 0 .*needs horizon_days"):
        mtx(15).event_table()


def test_event_table_horizon_drops_late_lines():
    tab = mtx({0: 7.5, 28: 15}).event_table(20)
    assert tab["TIME"].tolist() == [0] and tab["ADDL"].tolist() == [2]
    empty = Regimen().event_table()
    assert list(empty) == COLUMNS and all(len(v) == 0 for v in empty.values())


# -- dict round trip ---------------------------------------------------------


def _plain(x):
    """True if x holds only dict[str, ...], list, str, float, int, bool."""
    if isinstance(x, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in x.items())
    if isinstance(x, list):
        return all(map(_plain, x))
    return type(x) in (str, float, int, bool)


def test_to_dict_format():
    reg = msc(4e7, days=[0, 120]) + mtx({0: 7.5, 28: 15, 56: 20}, every=7)
    d = reg.to_dict()
    assert d == {
        "doses": [
            {
                "drug": "msc",
                "cells": 4e7,
                "days": [0.0, 120.0],
                "per_kg": False,
                "source": "umbilical_cord",
                "donor": "allogeneic",
                "route": "iv",
            },
            {"drug": "mtx", "dose_mg": {"0": 7.5, "28": 15.0, "56": 20.0}, "every": 7.0, "start": 0.0, "route": "oral"},
        ]
    }
    assert _plain(d)
    assert mtx(15, until=3.5, every=0.5 * 7).to_dict()["doses"][0]["until"] == 3.5
    assert msc(1e6, route="ia", joints=4).to_dict()["doses"][0]["joints"] == 4
    assert mtx({0: 5, 3.5: 10}, every=14).to_dict()["doses"][0]["dose_mg"] == {"0": 5.0, "3.5": 10.0}


def test_round_trip_and_json():
    reg = (
        msc(1e6, per_kg=True, source="bm", donor="autologous", days=[0, 90.5])
        + msc(3e7, route="ia", joints=2, days=[14], source="bm", donor="autologous")
        + mtx({0: 7.5, 28: 15}, until=84, every=7)
        + mtx(20, start=84, route="sc")
    )
    assert Regimen.from_dict(reg.to_dict()) == reg
    assert Regimen.from_dict(json.loads(json.dumps(reg.to_dict()))) == reg
    assert Regimen.from_dict(Regimen().to_dict()) == Regimen()
    assert Regimen.from_dict({}) == Regimen()


def test_from_dict_hand_written():
    d = {"doses": [{"drug": "mtx", "dose_mg": {0: 7.5, "28": 15}}, {"drug": "msc", "cells": 1e8, "source": "uc"}]}
    assert Regimen.from_dict(d) == mtx({0: 7.5, 28: 15}) + msc(1e8)


def test_from_dict_errors():
    with pytest.raises(RegimenError, match="unknown key 'dose' in regimen; valid keys: doses"):
        Regimen.from_dict({"dose": []})
    with pytest.raises(
        RegimenError,
        match="unknown key 'cell' in msc dose; valid keys: drug, cells, days, per_kg, source, donor, route, joints",
    ):
        Regimen.from_dict({"doses": [{"drug": "msc", "cell": 1e6}]})
    with pytest.raises(
        RegimenError, match="unknown key 'dose' in mtx dose; valid keys: drug, dose_mg, every, start, until, route"
    ):
        Regimen.from_dict({"doses": [{"drug": "mtx", "dose": 15}]})
    with pytest.raises(RegimenError, match="needs 'drug': one of msc, mtx"):
        Regimen.from_dict({"doses": [{"drug": "abatacept", "dose_mg": 15}]})
    with pytest.raises(RegimenError, match="needs 'drug': one of msc, mtx"):  # unhashable: was a TypeError
        Regimen.from_dict({"doses": [{"drug": ["mtx"], "dose_mg": 15}]})
    with pytest.raises(RegimenError, match="mtx dose needs 'dose_mg'"):
        Regimen.from_dict({"doses": [{"drug": "mtx"}]})
    with pytest.raises(RegimenError, match="'doses' must be a list"):
        Regimen.from_dict({"doses": "mtx"})
    with pytest.raises(RegimenError, match="a dose must be a dict"):
        Regimen.from_dict({"doses": [15]})
    with pytest.raises(RegimenError, match="regimen must be a dict"):
        Regimen.from_dict([])
    with pytest.raises(RegimenError, match="MTX titration day must be a number of days, got 'a'"):
        Regimen.from_dict({"doses": [{"drug": "mtx", "dose_mg": {"a": 15}}]})


days_st = st.floats(0, 3650, allow_nan=False, allow_infinity=False)


@st.composite
def regimens(draw):
    reg = Regimen()
    if draw(st.booleans()):
        route = draw(st.sampled_from(["iv", "ia"]))
        reg += msc(
            draw(st.floats(1e3, 5e7)),
            per_kg=draw(st.booleans()),
            route=route,
            days=draw(st.lists(days_st, min_size=1, max_size=4, unique=True)),
            joints=draw(st.integers(1, 28)) if route == "ia" else None,
            source=draw(st.sampled_from(["uc", "bm", "adipose"])),
            donor=draw(st.sampled_from(["allogeneic", "autologous"])),
        )
    start = 0.0
    for _ in range(draw(st.integers(0, 3))):
        every = draw(st.floats(7, 28))
        steps = draw(st.dictionaries(days_st, st.floats(0.5, 30), min_size=1, max_size=3))
        first = min(steps)
        until = draw(st.none() | st.floats(first + 1, first + 400))
        dose = steps if draw(st.booleans()) else steps[first]
        reg += mtx(
            dose,
            every=every,
            start=max(first, start),
            route=draw(st.sampled_from(["oral", "sc"])),
            until=until if until and until > max(first, start) else None,
        )
        if reg.doses[-1].until is None:
            break
        start = reg.doses[-1].until
    return reg


@settings(max_examples=200, deadline=None)
@given(regimens())
def test_round_trip_property(reg):
    d = reg.to_dict()
    assert _plain(d)
    assert Regimen.from_dict(d) == reg
    assert Regimen.from_dict(json.loads(json.dumps(d))) == reg
    assert eval(repr(reg)) == reg


@settings(max_examples=100, deadline=None)
@given(regimens(), st.floats(0, 4000))
def test_event_table_matches_events_property(reg, horizon):
    ev = reg.events(horizon, weight_kg=70)
    tab = reg.event_table(horizon)
    assert int((tab["ADDL"] + 1).sum()) == len(ev)
    assert np.all(np.diff(ev.time) >= 0) and np.all(ev.time <= horizon)


# -- validation --------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: msc(0), r"MSC dose must be > 0 and <= 1e\+10 cells .*got 0"),
        (lambda: msc(-1e6), r"MSC dose must be > 0 .*got -1e\+06"),
        (lambda: msc(math.nan), r"MSC dose must be finite, got nan"),
        (lambda: msc(math.inf), r"MSC dose must be finite, got inf"),
        (lambda: msc("1e6"), r"MSC dose must be a number, got '1e6'"),
        (lambda: msc(2e10), r"<= 1e\+10 cells \(beyond any clinical MSC dose\), got 2e\+10"),
        (lambda: msc(6e7, per_kg=True), r"<= 5e\+07 cells/kg \(the flat cap of 1e\+10 cells at 200 kg\), got 6e\+07"),
        (lambda: msc(1e6, per_kg="yes"), r"per_kg must be True or False"),
        (lambda: msc(1e6, days=[0, -7]), r"MSC infusion day must be >= 0 days.*got -7"),
        (lambda: msc(1e6, days=[math.nan]), r"MSC infusion day must be finite, got nan"),
        (lambda: msc(1e6, days=[0, math.inf]), r"MSC infusion day must be finite, got inf"),
        (lambda: msc(1e6, days=[]), r"MSC days is empty"),
        (lambda: msc(1e6, days="0"), r"MSC days must be a list of days"),
        (lambda: msc(1e6, days=[0, 30, 0]), r"duplicate MSC infusion day 0 in days=\[0, 30, 0\]"),
        (lambda: msc(1e6, days=[0, 30]) + msc(1e6, days=[30]), r"duplicate MSC infusion day 30 \(iv\)"),
        (
            lambda: msc(1e6, source="umbilical"),
            r"unknown MSC source 'umbilical'\. Did you mean 'umbilical_cord'\?.*Valid MSC sources: "
            r"umbilical_cord, bone_marrow, adipose",
        ),
        (lambda: msc(1e6, source=3), r"MSC source must be a string, got 3"),
        (
            lambda: msc(1e6, donor="allogenic"),
            r"unknown MSC donor 'allogenic'\. Did you mean 'allogeneic'.*allogeneic, autologous",
        ),
        (
            lambda: msc(1e6, route="intraarticular"),
            r"unknown MSC route 'intraarticular'\. Did you mean 'intra_articular'.*iv, intra_articular",
        ),
        (lambda: msc(1e6, route="oral"), r"route 'oral' is an MTX route; MSC routes are: iv, intra_articular"),
        (lambda: msc(1e6, route="ia"), r"intra-articular MSC needs joints .* in 1\.\.28, got None"),
        (lambda: msc(1e6, route="ia", joints=29), r"in 1\.\.28, got 29"),
        (lambda: msc(1e6, route="ia", joints=0), r"in 1\.\.28, got 0"),
        (lambda: msc(1e6, route="ia", joints=2.5), r"in 1\.\.28, got 2\.5"),
        (lambda: msc(1e6, joints=2), r"joints=2 is only for intra-articular MSC"),
        (
            lambda: msc(1e6, source="bm") + msc(1e6, source="uc", days=[90]),
            r"mixes MSC products \[\('bone_marrow', 'allogeneic'\), \('umbilical_cord', 'allogeneic'\)\]"
            r": one MSC source and donor per regimen is not supported",
        ),
        (lambda: msc(1e6) + msc(1e6, donor="autologous", days=[90]), r"mixes MSC products"),
        (lambda: mtx(0), r"MTX dose must be > 0 and <= 30 mg .*got 0"),
        (lambda: mtx(-5), r"MTX dose must be > 0 .*got -5"),
        (lambda: mtx(math.nan), r"MTX dose must be finite, got nan"),
        (lambda: mtx(40), r"<= 30 mg \(low-dose MTX in RA tops out at 25-30 mg/week\), got 40"),
        (lambda: mtx(15, every=1), r"MTX dose of 15 mg every 1 days is 105 mg/week; the limit is 30"),
        (lambda: mtx(15, every=0), r"MTX interval `every` must be > 0 days, got 0"),
        (lambda: mtx(15, every=-7), r"MTX interval `every` must be > 0 days, got -7"),
        (lambda: mtx(15, every=math.inf), r"MTX interval `every` must be finite, got inf"),
        (lambda: mtx((7.5, 15)), r"MTX titration must be a dict \{day: mg\}, got \(7\.5, 15\)"),
        (lambda: mtx([7.5, 15]), r"MTX dose must be a number, got \[7\.5, 15\]"),
        (lambda: mtx(15, start=-1), r"MTX start must be >= 0 days.*got -1"),
        (lambda: mtx(15, start=math.nan), r"MTX start must be finite, got nan"),
        (lambda: mtx(15, start=28, until=28), r"MTX until=28 must be after start=28"),
        (lambda: mtx(15, until=math.nan), r"MTX `until` \(days\) must be finite, got nan"),
        (lambda: mtx(15, route="iv"), r"route 'iv' is an MSC route; MTX routes are: oral, subcutaneous"),
        (lambda: mtx(15, route="ia"), r"route 'ia' is an MSC route"),
        (lambda: mtx(15, route="orl"), r"unknown MTX route 'orl'\. Did you mean 'oral'.*oral, subcut"),
        (lambda: mtx({}), r"MTX titration dict is empty"),
        (lambda: mtx({-7: 7.5}), r"MTX titration day must be >= 0 days.*got -7"),
        (lambda: mtx({0: 7.5, 28: 0}), r"MTX dose from day 28 must be > 0 .*got 0"),
        (lambda: mtx({0: 7.5, 28: 35}), r"MTX dose from day 28 must be .*<= 30 mg.*got 35"),
        (lambda: mtx({0: 7.5, 28: math.nan}), r"MTX dose from day 28 must be finite"),
        (lambda: mtx({0: 7.5, "0": 10}), r"MTX titration day 0 is given twice"),
        (lambda: mtx({14: 7.5, 28: 15}), r"MTX titration starts on day 14 but start=0: .*pass start=14"),
        (
            lambda: mtx(15) + mtx(10, start=28),
            r"MTX schedules overlap: mtx\(15, .*\) is still running on day 28 when mtx\(10, .*\) starts",
        ),
        (lambda: mtx(10, start=28) + mtx(15, until=29), r"MTX schedules overlap"),
        (lambda: Regimen((15,)), r"a Regimen holds doses of rasim.drugs"),
    ],
)
def test_validation_errors(call, message):
    with pytest.raises(RegimenError, match=message):
        call()


def test_allowed_edge_cases():
    assert len(mtx(30)) == 1 and len(mtx(15, every=3.5)) == 1  # 30 mg/week
    assert len(msc(1e10)) == 1 and len(msc(5e7, per_kg=True)) == 1
    assert len(msc(1e6, route="ia", joints=28)) == 1
    assert len(mtx(15, until=28) + mtx(20, start=28)) == 2  # back-to-back, no overlap
    assert len(msc(1e6, days=[0]) + msc(1e6, route="ia", joints=1, days=[0])) == 2
    assert msc(1e6, days=np.array([0, 7])).doses[0].days == (0.0, 7.0)
    assert mtx(np.float64(15)).doses[0].dose_mg == 15.0
    assert isinstance(MtxDose(15).every, float) and MscDose(1e6).days == (0.0,)
    titr = mtx({0: 7.5, 28: 15}).doses[0]
    assert dataclasses.replace(titr, every=14) == MtxDose({0: 7.5, 28: 15}, every=14)


def test_a_drug_is_a_module_and_a_registry_line(monkeypatch):
    """A new drug's dose record (its checks, lines, rules within a regimen and after the
    horizon) reaches regimens, dose tables and events through ``rasim.drugs.DRUGS`` alone."""
    from dataclasses import dataclass

    from rasim import drugs
    from rasim.drugs.base import DoseLine, blame, positive

    @dataclass(frozen=True)
    class ToyDose:
        mg: float
        day: float = 0.0

        def __post_init__(self):
            with blame("mg"):
                positive("toy dose", self.mg, "mg")

        def lines(self):
            return (DoseLine("toy", self.day, self.mg, "mg", "topical", 0.0, 0),)

        def to_dict(self):
            return {"drug": "toy", "mg": self.mg, "day": self.day}

        def after(self, horizon):
            return ([f"toy dose on day {self.day:g}"] if self.day > horizon else []), []

        @staticmethod
        def check_together(doses):
            if len(doses) > 1:
                raise RegimenError("one toy dose per regimen")

    monkeypatch.setitem(drugs.DRUGS, "toy", ToyDose)
    monkeypatch.setitem(drugs.DEPOT_OF_ROUTE, ("toy", "topical"), 9)  # its route's depot (drugs.base.register)
    reg = Regimen.from_dict({"doses": [{"drug": "toy", "mg": 2.0, "day": 3.0}]}) + mtx(15)
    assert Regimen.from_dict(reg.to_dict()) == reg
    ev = reg.events(10)
    assert (
        ev.depot[ev.time == 3.0].tolist() == [9]
        and ev.depot[ev.time == 7.0].tolist() == [1]
        and ev.amount[ev.depot == 9].tolist() == [2.0]
    )
    with pytest.raises(RegimenError, match="one toy dose per regimen"):
        reg + Regimen((ToyDose(1.0),))
    with pytest.raises(RegimenError, match="toy dose must be > 0") as e:
        Regimen.from_dict({"doses": [{"drug": "toy", "mg": -1}]})
    assert e.value.key == "mg"
    from rasim.regimen import after_horizon

    assert after_horizon(reg, 2.0)[0] == ["toy dose on day 3"]
    # lowered through the registry: its doses are boluses of the state it names
    monkeypatch.setitem(drugs.base.BOLUSES, 9, drugs.base.Bolus("msc_lung", 1e6))
    from rasim import simulate

    result = simulate(Regimen.from_dict({"doses": [{"drug": "toy", "mg": 4e7, "day": 3.0}]}), days=5.0)
    lung = result.state("msc_lung")
    # no cells before the dose (main's refit leaves a round-off residue, ~5e-32, in the day-0 state)
    assert abs(lung[result.t == 2.0][0]) < 1e-12 and lung[result.t == 4.0][0] > 1.0
