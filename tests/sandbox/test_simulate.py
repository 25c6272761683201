"""The headless `simulate` command."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.django_db
@pytest.mark.parametrize("preset", ["v0", "v1", "v2", "v3", "defi_book", "defi_pool"])
def test_simulate_prints_one_json_line_with_the_totals(preset, capsys):
    call_command("simulate", "--preset", preset, "--ticks", "40", "--seed", "3", "--bots", "4", "--json")
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("preset", "ticks", "liquidations", "adl_events", "clawbacks", "deliveries", "insurance_fund_start",
                "insurance_fund_end", "funding_paid_total", "funding_received_total", "interest_paid_total",
                "interest_earned_total", "ledger_balanced", "elapsed_s"):
        assert key in out
    assert out["ticks"] == 40
    assert out["ledger_balanced"] is True
    assert out["fills"] > 0


@pytest.mark.django_db
def test_simulate_names_the_available_presets():
    from exchange_edu.sandbox.mappers import available_presets

    assert set(available_presets()) == {"v0", "v1", "v2", "v3", "defi_book", "defi_pool"}
    with pytest.raises(CommandError, match="available presets: " + ", ".join(available_presets())):
        call_command("simulate", "--preset", "v9", "--ticks", "5")


def test_simulate_lists_sources(capsys):
    call_command("simulate", "--list-sources")
    assert "synthetic" in capsys.readouterr().out


@pytest.mark.django_db
def test_simulate_rejects_an_unknown_source():
    with pytest.raises(CommandError, match="price_source"):
        call_command("simulate", "--source", "history:nowhere", "--ticks", "5")
