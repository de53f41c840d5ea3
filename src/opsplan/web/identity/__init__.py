"""Who may use the console: users and roles, passwords (Argon2id), TOTP with recovery codes,
server-side sessions, login throttling and per-user API tokens (issue 12, item 1).

Everything here works on the state DB passed in and takes the time as an argument (a clock the
tests inject); nothing is created at import time. The HTTP login path builds on these modules.
"""
