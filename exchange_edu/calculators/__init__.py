"""Public calculators: the engine's formulas behind /api/v1/calc/ (no account needed)."""
