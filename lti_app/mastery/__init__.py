"""Pure mastery domain: scales, mapping, calculation methods, growth (standard library only).

Built in the mastery engine issue.
"""
