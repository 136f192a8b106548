"""Personal data on request and on schedule: ``memnun privacy erase|export|purge`` and the daily
retention job (``app.privacy.services``)."""
