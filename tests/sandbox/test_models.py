"""Storage: engine decimals round-trip exactly; money is integers of the smallest unit."""

from decimal import Decimal

import pytest
from django.db import connection

from exchange_edu.sandbox import models
from tests.sandbox.conftest import make_sandbox

# An inverse entry price averaged harmonically keeps the engine's 34 significant digits.
LONG = Decimal("10012.34567890123456789012345678901")
TINY_INDEX = Decimal("1.234567890123456789012345678901234E-9")


@pytest.mark.django_db
def test_decimal_text_field_round_trips_34_digits_exactly():
    sb = make_sandbox("v1")
    m = models.Market.objects.get(sandbox=sb)
    m.mark_price = LONG
    m.funding_index = TINY_INDEX
    m.save(update_fields=["mark_price", "funding_index"])
    again = models.Market.objects.get(pk=m.pk)
    assert again.mark_price == LONG
    assert str(again.mark_price) == str(LONG)
    assert again.funding_index == TINY_INDEX


@pytest.mark.django_db
def test_sqlite_decimal_affinity_would_lose_digits():
    """Why prices are not a DecimalField: SQLite's NUMERIC affinity stores a long decimal as REAL."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite storage detail")
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE dec_probe (v decimal)")
        cur.execute("INSERT INTO dec_probe (v) VALUES (%s)", [str(LONG)])
        cur.execute("SELECT v FROM dec_probe")
        stored = cur.fetchone()[0]
    assert Decimal(str(stored)) != LONG  # 15-17 significant digits survive, not 34


def test_floats_are_refused_by_decimal_text_field():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        models.DecimalTextField().get_prep_value(0.1)
