"""Backups (seed §4.1): MariaDB chains, AI model versions, configuration in Git."""
