"""Signals of the workflows app, for the apps above it (which this app must not import).

`version_published`: sent once a new version's transaction has committed, with `version`
(the WorkflowVersion). Receivers run outside that transaction; one that fails is logged and
never undoes or fails the publishing (Signal.send_robust).
"""

from __future__ import annotations

from django.dispatch import Signal

version_published = Signal()
