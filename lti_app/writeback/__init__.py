"""Write-back: scored demonstrations become Canvas outcome results, durably and verifiably.

Canvas has no outcome-write API; the one public path is a rubric assessment on an
outcome-aligned rubric criterion of an assignment (docs/canvas.md §3). And Canvas keeps ONE
result per (student, outcome, assignment): re-assessing overwrites it. So:

* **Carriers by round.** Per course the tool creates carrier assignments on demand, one per
  *round*: round n carries every student's n-th scored demonstration of each target. A
  student's second demonstration of a target lands on the round-2 carrier, so the first stays
  in Canvas as its own result, and the Learning Mastery Gradebook sees every demonstration.
  Carriers are published, take no submission, are omitted from the final grade and assigned to
  everyone; each has exactly one grading rubric association whose criteria are aligned to the
  course's targets, with one rating per district level at the Canvas points the mapping gives
  (so Canvas shows the level the tool shows). New targets are added by updating that rubric
  in place (PUT); a second grading association would delete the carrier's results
  (docs/canvas.md §3.6).
* **Outbox.** Scoring commits a ``writeback_item`` (idempotency key ``demo:<id>``) in the
  scoring transaction (``outbox``). Nothing is sent from the request.
* **Delivery** (``delivery``), one worker per course at a time (``lease``): read what Canvas
  already holds, write only what differs, grouped per carrier (bulk ``update_grades`` with
  Progress polling, or a single PUT for one student), always with every row the student already
  has on that carrier (an assessment replaces all rows, docs/canvas.md §3.5), then read the
  results back until they appear (they are written asynchronously, docs/canvas.md §3.4) and
  only then mark them delivered.
  Failures back off and retry; after the last attempt the teacher sees the reason and a retry
  button.
* **Workers** (``dispatch``): in-process threads by default; Celery over Redis when
  ``CELERY_BROKER_URL`` is set. Both run the same ``delivery.deliver_course``; a sweeper
  re-dispatches courses whose items are due (a dead worker's lease expires).
* **Sync** flags results on carriers ``from_carrier``: the tool holds that evidence itself and
  never counts it twice.
"""
