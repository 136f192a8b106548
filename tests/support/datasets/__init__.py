"""Datasets inserted as models (see tests/support/__init__.py)."""
