"""Housekeeping: pruning what grows with use (expired logins, sessions, old sync runs)."""
