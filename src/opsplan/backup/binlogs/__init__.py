"""Binary log archive (point-in-time recovery beyond seed §4.1): archiving, restore points, RPO."""
