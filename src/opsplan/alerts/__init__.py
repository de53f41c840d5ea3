"""Alerts: rule evaluation over each cycle, alert states, silences, acknowledgements."""
