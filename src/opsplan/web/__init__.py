"""The web console and the versioned JSON API (read-only until authentication lands)."""
