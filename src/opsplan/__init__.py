"""opsplan: runs an AI server's operations plan (monitoring, alerts, backups, incidents, checks)."""

__version__ = "0.1.0"
