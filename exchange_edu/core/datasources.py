"""The market-data files shipped in exchange_edu/data, with the attribution each one needs.

Shown on the attribution page and by the API; the full provenance is in data/SOURCES.md.
"""

import dataclasses
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

CC_BY_SA = "CC BY-SA 4.0"
APACHE = "Apache-2.0"
FACTUAL = "No licence stated (factual exchange API output)"
CC_BY_SA_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
APACHE_URL = "https://www.apache.org/licenses/LICENSE-2.0"
LEAN = "QuantConnect Lean repository (Apache-2.0; prices from Coinbase/Bitfinex trades via Kaiko)"
HEHMEYER = "collected in the public repository nearridge/Hehmeyer"


@dataclasses.dataclass(frozen=True)
class DataSource:
    name: str
    file: str
    licence: str
    licence_url: str
    attribution: str
    changes: str

    @property
    def path(self) -> Path:
        return DATA_DIR / self.file


SOURCES: tuple[DataSource, ...] = (
    DataSource(
        name="BTC/USD daily close, Bitstamp, 2014-2025",
        file="btc_usd_daily.csv",
        licence=CC_BY_SA,
        licence_url=CC_BY_SA_URL,
        attribution="Zielak (mczielinski), Bitcoin Historical Data, Kaggle",
        changes="Aggregated from 1-minute data to the last close of each UTC day and trimmed "
        "to 2014-01-01..2025-12-31. This file is shared under CC BY-SA 4.0.",
    ),
    DataSource(
        name="BTC/USD daily OHLCV, Coinbase, 2014-2018",
        file="btc_usd_daily_ohlc_coinbase_2014-2018.csv",
        licence=APACHE,
        licence_url=APACHE_URL,
        attribution=LEAN,
        changes="Converted from Lean's zipped format to CSV with ISO dates.",
    ),
    DataSource(
        name="BTC/USD 1-minute bars on 17 December 2017, Coinbase",
        file="btc_usd_2017-12-17_minute_coinbase.csv",
        licence=APACHE,
        licence_url=APACHE_URL,
        attribution=LEAN,
        changes="Converted from Lean's zipped format to CSV with ISO-8601 UTC timestamps.",
    ),
    DataSource(
        name="ETH/USD daily, Bitfinex, 2016-2017",
        file="eth_usd_daily_bitfinex_2016-2017.csv",
        licence=APACHE,
        licence_url=APACHE_URL,
        attribution=LEAN,
        changes="Prices are the mid of Lean's bid and ask bars; converted to CSV.",
    ),
    DataSource(
        name="BitMEX XBTUSD funding rates, 2016-2020",
        file="bitmex_xbtusd_funding.csv",
        licence=FACTUAL,
        licence_url="",
        attribution=f"BitMEX public API funding history, {HEHMEYER}",
        changes="Columns renamed; timestamps kept in UTC.",
    ),
    DataSource(
        name="Deribit BTC index, hourly, 5-20 March 2020",
        file="btc_usd_2020-03-05_to_2020-03-20_hourly_deribit_index.csv",
        licence=FACTUAL,
        licence_url="",
        attribution=f"Deribit public API (get_funding_rate_history), {HEHMEYER}",
        changes="Cut to the March 2020 window; hourly point snapshots, not OHLC.",
    ),
    DataSource(
        name="Deribit BTC index and perpetual funding, hourly, 2019-2021",
        file="deribit_btc_index_and_perp_funding_hourly_2019-2021.csv",
        licence=FACTUAL,
        licence_url="",
        attribution=f"Deribit public API (get_funding_rate_history), {HEHMEYER}",
        changes="Converted to CSV with ISO-8601 UTC timestamps.",
    ),
)
