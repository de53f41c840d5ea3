"""Alert rules: built from the plan, evaluated inside opsplan and exported to Prometheus alike."""
