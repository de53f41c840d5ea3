"""Notifications: route alert notices to the plan's channels through a persistent outbox."""
