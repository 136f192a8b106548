"""gunicorn's settings for Memnun, read by gunicorn from the directory it starts in.

Only what the app needs of every deployment; workers, threads and the bind address belong to the
command line (docs/scaling.md).
"""

import gc


def post_worker_init(worker: object) -> None:
    """Freeze what the worker holds once the app is loaded (forked from ``--preload`` or built
    here): the modules, the SQLAlchemy mappers, Dash's layouts. The collector never walks them
    again, where each full collection took about half a second in a worker under load, on the
    survey pages as on the intake; and pages shared with the master stay shared."""
    gc.freeze()
