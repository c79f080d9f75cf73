"""The one tool that writes generated sections of the README and the docs pages.

`python -m benchmarks` (benchmark tables), `python -m tools.evidence` (the evidence
gallery) and `python -m tests.support_matrix write` (the support matrix) measure, store
the numbers in a committed JSON file, then rewrite their section with
`replace_section`, never by hand. Each section lives on one page, named in `SECTIONS`;
the tests compare every section with what its writer would generate from the stored
numbers.
"""

import os
import pathlib
import platform

import keras

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Section name -> the page that holds it, between `<!-- name:start -->` and
# `<!-- name:end -->`.
SECTIONS = {
    "headlines": README,
    "quickstart": README,
    "benchmarks": DOCS / "benchmarks.md",
    "backends": DOCS / "benchmarks.md",
    "gallery": DOCS / "gallery.md",
    "support": DOCS / "backends.md",
}


def machine_line():
    """One line naming the machine and library versions a measurement came from."""
    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, Keras {keras.__version__} "
        f"({keras.backend.backend()} backend)"
    )


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def markdown_table(rows, columns):
    """A Markdown table of `rows` (dicts) restricted to `columns`."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _markers(name):
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_section(name, page=None):
    """The text of section `name` (stripped), from `page` or its page in SECTIONS."""
    page = page or SECTIONS[name]
    start, end = _markers(name)
    content = page.read_text()
    if start not in content or end not in content:
        raise ValueError(f"{page.name} has no {start} ... {end} section")
    return content.split(start, 1)[1].split(end, 1)[0].strip()


def replace_section(name, text, page=None):
    """Replaces the text of section `name` on `page` (default: its page in SECTIONS)."""
    page = page or SECTIONS[name]
    read_section(name, page)  # Fails plainly when the markers are missing.
    start, end = _markers(name)
    head, rest = page.read_text().split(start, 1)
    _, tail = rest.split(end, 1)
    page.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}")
