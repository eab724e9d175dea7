"""Answers with verbatim citations: answer, unsure or refused.

The question is read once (``question``), the retrieved passages cut into candidate
figures, dates, names and sentences (``candidates``), each described by named generic
features (``features``) and weighed by a fitted model (``scorer``); ``respond``
decides and quotes. ``types`` holds what an answer is.
"""

from rag.answer.question import QuestionFrame, asked_type, read_question
from rag.answer.respond import ExtractiveAnswerer, cite_span
from rag.answer.types import (
    ABSTAIN_MESSAGE,
    LEAD_SEP,
    UNSURE_MESSAGE,
    Answer,
    Citation,
    Outcome,
    citation_line,
    provenance,
)

__all__ = ["ABSTAIN_MESSAGE", "LEAD_SEP", "UNSURE_MESSAGE", "Answer", "Citation", "ExtractiveAnswerer",
           "Outcome", "QuestionFrame", "asked_type", "citation_line", "cite_span", "provenance",
           "read_question"]
