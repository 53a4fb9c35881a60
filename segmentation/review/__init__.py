"""Segment review in the admin: the run page a person reads before publishing.

``selectors`` turns a run into plain data (``run_review``); ``views`` serve the page,
its progress JSON, publish and requeue; ``notes`` translates the pipeline's notes.
"""

from .selectors import STAGES, metric_cards, progress_of, run_review, user_language
from .views import review_urls

__all__ = ["STAGES", "metric_cards", "progress_of", "review_urls", "run_review",
           "user_language"]
