"""Rollback runbooks (seed §4.2): a model version put back in service, health-checked and perf-tested."""
