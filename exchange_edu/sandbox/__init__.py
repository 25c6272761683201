"""The sandbox exchange app: persistence, services, selectors, tasks (see README.md)."""
