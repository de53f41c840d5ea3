"""The periodic checks of seed §2 (daily, weekly, monthly, quarterly): typed items, their
evaluators, the runs and their reports. See model.py for what an evaluator returns and
registry.py for how one is bound to a plan item's id."""
