"""Where studies live: study names, storage URLs, and what is shown of them.

Storage URLs: any SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or
``journal:PATH`` / a path ending in ``.log`` for Optuna's journal file storage (shared file
systems). The default is ``sqlite:///studies/<study name>.sqlite3`` under the CWD.

Study names are names (:func:`check_study_name`): letters, digits and ``-_.+``, at most 200
characters, so that a name never reaches outside ``studies/`` as a file name. Passwords in
URLs are never shown: messages and outputs use :func:`display_url`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mapsearch.errors import StudyError

DEFAULT_DIR = Path("studies")
#: Longest study name: the name is a file name (``<name>.sqlite3``, ``<name>.pareto.png``)
#: and most file systems stop at 255 bytes.
MAX_STUDY_NAME = 200
_NAME = re.compile(r"[A-Za-z0-9_.+-]+")


def check_study_name(name: str) -> str:
    """``name`` if it is a study name: letters, digits and ``-_.+``, at most 200 characters,
    not only dots. Anything else (``/``, ``?``, spaces, ...) is refused with a StudyError."""
    shown = name if len(name) <= 60 else name[:60] + "..."
    if len(name) > MAX_STUDY_NAME:
        raise StudyError(
            f"study name {shown!r} has {len(name)} characters; use at most {MAX_STUDY_NAME}"
        )
    if not _NAME.fullmatch(name) or set(name) == {"."}:
        raise StudyError(
            f"study name {shown!r} is not a name: use letters, digits and - _ . + only "
            "(a study is a file under studies/; --storage puts it elsewhere)"
        )
    return name


def derived_study_name(text: str) -> str:
    """A study name made from ``text`` (a problem's slug, a layer name): characters a name
    may not hold become ``_``, and past 200 characters the name is cut and ends with a hash
    of the whole, so that distinct texts keep distinct names."""
    name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip(".") or "study"
    if len(name) <= MAX_STUDY_NAME:
        return name
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return f"{name[: MAX_STUDY_NAME - 11]}-{digest}"


def default_storage_url(name: str, directory: Path = DEFAULT_DIR) -> str:
    """``sqlite:///<directory>/<name>.sqlite3`` (the directory is created when used)."""
    return file_url(directory / (check_study_name(name) + ".sqlite3"))


def file_url(path: Path) -> str:
    """The storage URL of a study file: ``journal:PATH`` for a ``.log`` journal, else
    ``sqlite:///PATH`` (the inverse of :func:`storage_file`)."""
    return f"journal:{path}" if path.suffix == ".log" else f"sqlite:///{path}"


def directory_urls(directory: Path) -> list[str]:
    """The storage URLs of the study files in ``directory``: ``*.sqlite3``, then ``*.log``."""
    files = sorted(directory.glob("*.sqlite3")) + sorted(directory.glob("*.log"))
    return [file_url(p) for p in files]


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)
    return None


def in_memory(url: str) -> bool:
    """Whether ``url`` is an SQLite database in memory (``sqlite://``, ``sqlite:///:memory:``):
    a study kept only for the life of the process."""
    if not url.startswith("sqlite://"):
        return False
    path = url[len("sqlite://") :].split("?", 1)[0]
    return path in ("", "/", "/:memory:")


def journal_path(url: str) -> Path | None:
    if url.startswith("journal:"):
        return Path(url[len("journal:") :])
    if url.endswith(".log") and "://" not in url:
        return Path(url)
    return None


def storage_file(url: str) -> Path | None:
    """The file of a file storage (SQLite or journal); None for a database server."""
    return sqlite_path(url) or journal_path(url)


def storage_dir(url: str) -> Path:
    """The folder of a file storage (SQLite or journal), else ``studies/``: where files that
    belong to its studies (plots, tuning tables) go."""
    path = storage_file(url)
    return DEFAULT_DIR if path is None else path.parent


def display_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for every message and output)."""
    if "@" not in url or "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^/@:]*:)[^@]*@", r"\1***@", url)


def scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (driver messages may echo it)."""
    if "@" not in url or "://" not in url:
        return text
    from urllib.parse import unquote

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    text = text.replace(url, display_url(url))
    for secret in {str(password or ""), unquote(str(password or ""))} - {""}:
        text = text.replace(secret, "***")
    return text


def where(url: str) -> str:
    path = storage_file(url)
    return str(path) if path is not None else display_url(url)
