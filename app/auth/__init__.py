"""Staff login (with two-factor login), sessions and roles; API keys; ``scope``, the one rule
of which units someone may see."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from app.auth import two_factor_views, views  # noqa: E402,F401
