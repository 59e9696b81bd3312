"""A faithful local stand-in for the parts of Canvas LMS that Mastery Pathways touches.

Separate from ``lti_app`` (import-linter keeps them apart): it plays Canvas for ``make demo``,
the end-to-end tests and the benchmarks.
"""
