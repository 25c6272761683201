from dataclasses import replace
from decimal import Decimal

import pytest

from exchange_edu.engine.rules import PRESETS, V0, V1, V2, V3, RuleError, preset

D = Decimal


@pytest.mark.parametrize(("name", "overrides", "field"), [
    ("unknown field", {"fees.bogus": "1"}, "fees.bogus"),
    ("floats are refused", {"fees.taker_rate": 0.001}, "fees.taker_rate"),
    ("out of range", {"fees.taker_rate": "0.5"}, "fees.taker_rate"),
    ("unknown mark method", {"pricing.mark_method": "vibes"}, "pricing.mark_method"),
    ("leverage not on the v0 menu", {"margin.default_leverage": "15"}, "margin.default_leverage"),
    ("funding on dated contracts", {"funding.style": "premium_interest_clamp"}, "funding.style"),
    ("unknown waterfall step", {"loss_waterfall": ["insurance_fund", "prayer"]}, "loss_waterfall"),
])
def test_with_overrides_names_the_bad_field(name, overrides, field):
    with pytest.raises(RuleError) as err:
        V0.with_overrides(overrides)
    assert err.value.field == field


def test_with_overrides_returns_a_validated_copy():
    custom = V1.with_overrides({"funding.interval_seconds": 3600, "fees.taker_rate": "0.001",
                                "margin.default_mode": "cross"})
    assert custom.funding.interval_seconds == 3600
    assert custom.fees.taker_rate == D("0.001")
    assert custom.margin.default_mode.value == "cross"
    assert V1.funding.interval_seconds == 8 * 3600  # the preset itself is untouched


def test_presets_are_built_from_each_other_by_replace():
    assert {"v0", "v1", "v2", "v3", "defi_book"} <= set(PRESETS)
    later = replace(V1, name="v1_mark_value", margin=replace(V1.margin, maintenance_basis="mark_value"))
    assert later.margin.risk == V1.margin.risk
    assert V1.loss_waterfall == ("insurance_fund", "adl")
    assert V0.loss_waterfall == ("insurance_fund", "clawback")


def test_preset_by_name_and_a_clear_error_for_an_unknown_one():
    assert preset("v2") is V2
    assert preset("v3") is V3
    with pytest.raises(RuleError) as err:
        preset("v9")
    assert err.value.field == "preset"
    assert "v0, v1, v2, v3" in err.value.message


def test_v2_and_v3_are_values_of_the_same_fields():
    assert V2.margin.account_model == V3.margin.account_model == "unified"
    assert V2.interest == "none"
    assert V3.interest == "pool"
    custom = V3.with_overrides({"lending.fee": "0", "lending.realization": "virtual"})
    assert custom.lending.fee == 0
    assert custom.lending.realization == "virtual"
    with pytest.raises(RuleError) as err:
        V3.with_overrides({"lending.realization": "sometimes"})
    assert err.value.field == "lending.realization"
