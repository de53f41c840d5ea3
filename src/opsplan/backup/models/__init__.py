"""AI model backups (seed §4.1): versions on change, the latest N kept, each a full copy."""
