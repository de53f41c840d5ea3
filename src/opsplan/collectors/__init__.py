"""Collectors: each reads one source and returns samples."""
