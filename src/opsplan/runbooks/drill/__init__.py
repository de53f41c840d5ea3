"""Restore drills (seed §2.2): database and model drills, their schedule, results and reports."""
