"""Schema helpers shared by the API routers: decimals in (number or string), decimals out (string).

Money and rates travel as strings so no float ever touches them. Inputs accept a JSON number
or a numeric string; the OpenAPI document says exactly which strings, so a client (and
schemathesis) knows "abc" is not a number. Magnitudes are bounded so no input can overflow the
engine's Decimal context.
"""

from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema

NUMERIC_STRING = r"^-?(\d{1,15}(\.\d{1,18})?|\.\d{1,18})$"
DECIMAL_OUT_PATTERN = r"^-?\d+(\.\d+)?$"
MAX_ABS = Decimal("1e15")


def format_decimal(value: Decimal) -> str:
    """Plain notation (never exponents), trailing zeros dropped: Decimal('2E+6') -> '2000000'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _bounded(value: Decimal) -> Decimal:
    if abs(value) > MAX_ABS:
        raise ValueError(f"must be between -{MAX_ABS:,.0f} and {MAX_ABS:,.0f}")
    return value


def DecimalIn(*, description: str = "", examples: list[Any] | None = None, **bounds: Any) -> Any:
    """A decimal input with optional bounds (gt, ge, lt, le), documented as number-or-string."""
    number: dict[str, Any] = {"type": "number"}
    for key, schema_key in (("gt", "exclusiveMinimum"), ("ge", "minimum"), ("lt", "exclusiveMaximum"),
                            ("le", "maximum")):
        if key in bounds:
            number[schema_key] = float(bounds[key])
    number.setdefault("minimum", -float(MAX_ABS))
    number.setdefault("maximum", float(MAX_ABS))
    schema = {"anyOf": [number, {"type": "string", "pattern": NUMERIC_STRING}], "description": description}
    if examples:
        schema["examples"] = examples
    return Annotated[Decimal, Field(allow_inf_nan=False, **bounds), AfterValidator(_bounded),
                     WithJsonSchema(schema)]


DecimalOut = Annotated[
    Decimal,
    PlainSerializer(format_decimal, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_OUT_PATTERN}),
]


class ErrorItem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """The one shape of every 4xx answer (see exchange_edu/api.py)."""

    detail: str
    errors: list[ErrorItem]
