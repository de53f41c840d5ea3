"""Restore runbooks (seed §4.2): the database restore, its datadir swap, integrity checks and services."""
