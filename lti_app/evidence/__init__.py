"""Quick evidence: levels a teacher observed outside any submission (a conference, a lab, a
presentation), recorded for one target on the page, or for many from a CSV file (upload or the
``evidence import`` CLI).

An observation is the tool's own evidence (source "observation"), counted once in every level
(grid, drill-down, export, the student's page) through ``grading.course_mastery.tool_evidence``,
and owed to Canvas like a scored demonstration: its write-back item is committed in the same
transaction (``writeback.outbox.enqueue_result``, key ``obs:<id>``).
"""
