"""REST API v1 and CSV import: the only way complaints enter Memnun."""

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/api/v1")
