"""Write-back: scored demonstrations become Canvas outcome results, durably and verifiably.

Canvas has no outcome-write API; the one public path is a rubric assessment on an
outcome-aligned rubric criterion of an assignment (docs/canvas.md §3). And Canvas keeps ONE
result per (student, outcome, assignment): re-assessing overwrites it. So:

* **Carriers.** Per course the tool creates carrier assignments on demand (round 1, 2, ...).
  Carriers are published, ``not_graded`` (so a student sees their results whatever the course's
  post policy, docs/canvas.md §3.17), take no submission, are omitted from the final grade and
  assigned to everyone; each has exactly one grading rubric association whose criteria are
  aligned to the course's targets, with one rating per district level at the Canvas points the
  mapping gives (so Canvas shows the level the tool shows). New targets, and ratings Canvas
  rewrote, are put right by updating that rubric in place (PUT); a second grading association
  would delete the carrier's results (docs/canvas.md §3.6, §3.18).
* **Order: re-save a carrier only where every row is still the newest.** Every save of a
  student's assessment re-dates *all* its rows, and Canvas orders a student's results by that
  date (docs/canvas.md §3.5). The invariant: after every delivery, for every student and
  target, Canvas's order of the student's results equals the order of the tool's evidence (so
  Canvas's latest is the tool's latest). Placement (``placement``, at delivery time, from what
  Canvas holds) keeps it:

  - a carrier may be re-saved for a student only while, for every target the student has on
    it, no newer result of that student exists in Canvas (on another carrier, or a teacher's
    own assignment scored after the tool's last write, which a re-save would jump over); the
    student's *frontier* carrier (the newest they have an assessment on) usually is one;
  - a new result goes to the lowest carrier that does not hold its target yet and may be
    re-saved (or where the student has no assessment yet); later results of the same batch go
    to that carrier or a later one: two demonstrations of one target go to two carriers,
    written in round order, the later one at least a second after the earlier one's results
    exist (Canvas compares dates to the second and does not order ties).

  So a save only ever re-dates results that are already that student's newest. The price: a
  carrier is closed to a student once one of its targets has a newer result elsewhere, so a
  course needs more carriers than the most demonstrations one student made of one target
  (about 4x with twelve targets demonstrated four times each in random order; the benchmark
  prints it). An item once sent stays on its carrier (Canvas may hold it there), and an item
  waits while an older one of the same student and target waits for its retry. Known limit: a
  result the teacher records in Canvas while a score waits in the outbox is dated before that
  score's delivery, so Canvas orders the two by delivery, not by scoring; deliveries follow
  scoring within seconds, so the window is that short.
* **Outbox.** Scoring commits a ``writeback_item`` (idempotency key ``demo:<id>``) in the
  scoring transaction (``outbox``); its ``round`` is the n-th demonstration of the target (shown
  to the teacher), its carrier is chosen at delivery. Nothing is sent from the request.
* **Delivery** (``delivery``), one worker per course at a time (``lease``): read what Canvas
  already holds; an item sent before (a crash, a lost answer) is looked for, with backoff, before
  anything is written again (results come from a job, docs/canvas.md §3.4); then place, ensure
  the carriers (``carriers``: every POST is recorded on the carrier row before it is sent, and
  while its answer is unknown the tool only looks for what it asked for, docs/canvas.md §3.15),
  write per carrier (bulk ``update_grades`` with Progress polling, or a single PUT for one
  student) always with every row the student already has on that carrier, and read the results
  back until they appear; only then are they delivered. A student Canvas cannot find fails
  alone; a failure costs an attempt only to the items of the failing request. Failures back off
  and retry; after the last attempt the teacher sees the reason and a retry button, and *Sent to
  Canvas* says what the tool had to repair on a carrier (deleted, unpublished, renamed, rubric
  rewritten).
* **Workers** (``dispatch``): in-process threads by default; Celery over Redis when
  ``CELERY_BROKER_URL`` is set. Both run the same ``delivery.deliver_course``; a sweeper
  re-dispatches courses whose items are due (a dead worker's lease expires).
* **Sync** flags results on carriers ``from_carrier``: the tool holds that evidence itself and
  never counts it twice.
"""
