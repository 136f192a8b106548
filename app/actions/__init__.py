"""The register of improvement actions that management takes against its targets (ISO 10002
8.7, ISO 10004): ``services`` decides, ``views`` shows the pages."""

from flask import Blueprint

bp = Blueprint("actions", __name__, url_prefix="/actions")

from app.actions import views  # noqa: E402,F401
