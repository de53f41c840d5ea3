"""Incidents (seed §5): severities with response deadlines, the lifecycle through the seed's three
stages, an append-only timeline, and the intake that opens them from alerts (docs/incidents.md)."""
