"""Configuration backups (seed §4.1): the plan's paths committed to a Git repository, kept forever."""
