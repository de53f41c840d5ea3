"""MariaDB client pieces shared by the collector, the backups and the runbooks: connection settings, error reasons."""
