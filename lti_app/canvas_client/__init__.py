"""The one way the tool talks to the Canvas REST API (knows no Flask, no other lti_app package).

Built in the Canvas client and course sync issue.
"""
