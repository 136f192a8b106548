"""The questions of a version as the survey page shows them: ``app.questionnaires.questions``,
where the staff pages (follow-ups, the complaint page) read the same wording."""

from app.questionnaires.questions import (  # noqa: F401
    MULTI_CHOICE,
    SCALES,
    SINGLE_CHOICE,
    TEXT,
    YES_NO,
    Option,
    Question,
    describe_condition,
    questions_in,
    translated,
    version_languages,
)
