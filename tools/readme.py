"""The one tool that writes the README's generated sections from stored measurements.

`python -m benchmarks` (benchmark tables), `python -m tools.evidence` (the evidence
gallery) and `python -m tests.support_matrix write` (the support matrix) measure, store
the numbers in a committed JSON file, then rewrite their README section with
`replace_readme_section`, never by hand.
"""

import os
import pathlib
import platform

import keras

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


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


def replace_readme_section(name, text, readme=README):
    """Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text()
    if start not in content or end not in content:
        raise ValueError(f"README.md has no {start} ... {end} section")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}")
