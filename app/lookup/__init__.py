"""Finding a complaint and its survey invitation, its whole story on one page, what to do about
an invitation (send now, cancel, plan again), and the queue of what goes out today and
tomorrow. For every member of staff, inside their units; ``services`` decides who sees what."""

from flask import Blueprint

bp = Blueprint("lookup", __name__)

from app.lookup import views  # noqa: E402,F401
