"""The organisation's logo, for everyone (the survey pages show it)."""

from __future__ import annotations

from flask import abort, make_response
from flask.typing import ResponseReturnValue

from app.organisation import bp
from app.organisation.settings import logo_file, organisation_settings

# An image opened on its own runs nothing, even if a crafted file got past the type check.
LOGO_CSP = "default-src 'none'; sandbox"


@bp.route("/organisation/logo/<string:version>")
def logo(version: str) -> ResponseReturnValue:
    """``version`` is the logo's hash, so a new logo gets a new address and a browser may keep
    each one for good; an old address still answers with the current logo, kept briefly."""
    found = logo_file()
    if found is None:
        abort(404)
    data, media_type = found
    response = make_response(data)
    response.headers["Content-Type"] = media_type
    response.headers["Content-Disposition"] = 'inline; filename="logo"'
    response.headers["Content-Security-Policy"] = LOGO_CSP
    current = version == organisation_settings().logo_sha256
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if current else "no-cache"
    )
    return response
