"""Local question answering over union documents, with verbatim citations.

Public API::

    from rag import load_settings, build_pipeline
    pipe = build_pipeline(load_settings(index_dir="index"))
    pipe.build(Path("../shared/corpus"))
    answer = pipe.ask("Combien a coûté la campagne France Travail PRO ?")
"""

from rag.answer import ABSTAIN_MESSAGE, Answer, Citation
from rag.config import Settings, load_settings
from rag.pipeline import Pipeline, SearchResult, build_pipeline
from rag.retrieve import Filters

__all__ = [
    "ABSTAIN_MESSAGE",
    "Answer",
    "Citation",
    "Filters",
    "Pipeline",
    "SearchResult",
    "Settings",
    "build_pipeline",
    "load_settings",
]
