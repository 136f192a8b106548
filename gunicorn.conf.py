"""gunicorn's settings for Memnun, read by gunicorn from the directory it starts in.

Only what the app needs of every deployment; workers, threads and the bind address belong to the
command line (docs/scaling.md). ``memnun serve`` sets the same hook itself.
"""

from app.serving import post_worker_init

__all__ = ["post_worker_init"]
