"""Reading a course from Canvas: fetch, one-transaction apply, runs; the sync page and CLI."""
