"""Marketing automation on top of campaigns.

- ``triggers``: a campaign sent to each customer who enters a target segment
  (after a delay, once, optionally again after a re-entry period);
- ``frequency``: a per-customer cap on messages a day across every campaign;
- ``abtest``: variants of a campaign tried on a random share, the winner sent to the rest;
- ``selectors``: the automation's queue and engagement over time.

Models live in ``models`` (imported by ``campaigns.models``); tasks in ``campaigns.tasks``.
"""
