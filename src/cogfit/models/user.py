"""Models defined in a Python file of the user's project, named in a dataset's ``models``
as ``path/to/file.py:model_name``.

The file is imported as a module (with whatever it imports, JAX included) and the model
is the :class:`~cogfit.models.base.BehaviouralModel` in it whose name is ``model_name``,
written with the public interface the built-in models use (``implement`` with a
:class:`~cogfit.models.spec.ModelSpec`). The path is relative to the directory the
workflow runs in. A fit records the entry, so the analysis stages load the same file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cogfit.errors import ConfigError

if TYPE_CHECKING:
    from cogfit.models.base import BehaviouralModel

#: what separates the file from the model's name in a ``models`` entry
SEPARATOR = ":"


def is_file_entry(entry: str) -> bool:
    """Whether a ``models`` entry names a model in a file (``file.py:name``)."""
    path, sep, _ = entry.rpartition(SEPARATOR)
    return bool(sep) and path.endswith(".py")


def entry_name(entry: str) -> str:
    """The model's name: the entry itself, or the part after the file."""
    return entry.rpartition(SEPARATOR)[2] if is_file_entry(entry) else entry


def entry_path(entry: str) -> Path:
    """The file of a file entry."""
    return Path(entry.rpartition(SEPARATOR)[0])


def load_file_model(entry: str) -> BehaviouralModel:
    """The model a file entry names; a :class:`ConfigError` naming the entry when the file
    is missing, fails to import, or holds no model of that name."""
    from cogfit.models.base import BehaviouralModel

    path, name = entry_path(entry), entry_name(entry)
    if not path.is_file():
        raise ConfigError(
            f"model {entry!r}: no file {str(path)!r} (paths are relative to "
            f"the directory the workflow runs in, {str(Path.cwd())!r})"
        )
    module = _import(path)
    found = {m.name: m for m in vars(module).values() if isinstance(m, BehaviouralModel)}
    if name not in found:
        raise ConfigError(
            f"model {entry!r}: {str(path)!r} defines no model named {name!r}; models in it: "
            f"{sorted(found)}"
        )
    return found[name]


def _import(path: Path) -> object:
    """``path`` imported as a module of its own (once per file and content)."""
    resolved = path.resolve()
    digest = hashlib.sha256(resolved.read_bytes()).hexdigest()[:16]
    key = f"cogfit_user_model_{digest}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{str(path)!r}: not importable as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's code: any error, reported in one line
        del sys.modules[key]
        text = " ".join(str(err).split())  # one line, whatever the error says
        raise ConfigError(f"{str(path)!r} fails to import: {type(err).__name__}: {text}") from None
    return module
