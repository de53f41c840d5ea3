"""The evaluators of the seed's check items, one module per period (registered on import)."""
