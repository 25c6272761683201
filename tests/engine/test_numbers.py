from decimal import Decimal

import pytest

from exchange_edu.engine.numbers import (
    Rounding,
    UnknownAssetError,
    credit_to_trader,
    from_units,
    quantize,
    to_decimal,
    to_units,
)

D = Decimal


@pytest.mark.parametrize(("name", "amount", "expected"), [
    ("a credit to a trader rounds down", D("0.000000019"), D("0.00000001")),
    ("a debit from a trader rounds up in size", D("-0.000000011"), D("-0.00000002")),
    ("whole units are untouched", D("-0.5"), D("-0.50000000")),
])
def test_trader_credits_round_in_the_exchanges_favour(name, amount, expected):
    assert credit_to_trader(amount, "BTC") == expected


def test_usd_units_are_micro_dollars():
    assert quantize(D("1.0000005"), "USDC", Rounding.NEAREST) == D("1.000000")
    assert to_units(D("1.25"), "USD") == 1_250_000
    assert from_units(1, "BTC") == D("1e-8")


def test_floats_and_unknown_assets_are_refused():
    with pytest.raises(TypeError):
        to_decimal(0.1)
    with pytest.raises(UnknownAssetError):
        quantize(D(1), "DOGE", Rounding.NEAREST)
    with pytest.raises(ValueError, match="whole number"):
        to_units(D("0.000000001"), "BTC")
