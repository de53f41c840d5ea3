"""Database backups (seed §4.1): mariabackup chains, their catalog, retention, verification and checks."""
