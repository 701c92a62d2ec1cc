"""The set of templates: the ones shipped in this package (``templates/<lang>/<name>.txt``), or a
folder of the same shape that the deployer's communications officer maintains."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from templates.render import Template, TemplateError, parse_template

FALLBACK_LANGUAGE = "fr"


class Catalog:
    def __init__(self, folder: Path | None = None) -> None:
        root: Traversable = folder if folder is not None else resources.files("templates")
        self._templates: dict[tuple[str, str], Template] = {}
        for lang_dir in sorted(root.iterdir(), key=lambda p: p.name):
            if not lang_dir.is_dir() or len(lang_dir.name) != 2 or not lang_dir.name.isalpha():
                continue
            for file in sorted(lang_dir.iterdir(), key=lambda p: p.name):
                if file.name.endswith(".txt"):
                    name = file.name.removesuffix(".txt")
                    text = file.read_text(encoding="utf-8")
                    self._templates[(name, lang_dir.name)] = parse_template(
                        name, lang_dir.name, text
                    )
        if not self._templates:
            raise TemplateError(
                f"no templates found in {folder or 'the templates package'} "
                "(expected <lang>/<name>.txt files)"
            )

    def __iter__(self) -> Iterator[Template]:
        return iter(sorted(self._templates.values(), key=lambda t: (t.name, t.lang)))

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._templates})

    def languages(self, name: str) -> list[str]:
        return sorted(lang for n, lang in self._templates if n == name)

    def get(self, name: str, lang: str) -> Template:
        """The template in this language, else in French (every template exists in French)."""
        found = self._templates.get((name, lang)) or self._templates.get((name, FALLBACK_LANGUAGE))
        if found is None:
            known = ", ".join(self.names())
            raise TemplateError(f"no template {name!r} (known: {known})")
        return found
