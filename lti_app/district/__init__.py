"""The district layer: a dashboard of the account's learning targets across every synced
course, and each learner's record across courses (issue 19, parts 2 and 3)."""
