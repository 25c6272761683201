"""The exchange engine: pure Python, Decimal, frozen dataclasses, deterministic.

No Django, Celery, ninja or pydantic imports here. See README.md in this package.
"""
