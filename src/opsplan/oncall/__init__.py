"""On-call: the rotation, escalation and paging of incidents, maintenance windows, the heartbeat."""
