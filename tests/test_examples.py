"""Checks of the examples and the evidence gallery: static ones (no training, no example
imports), and quick runs of two examples from another directory (slow)."""

import ast
import json
import pathlib
import subprocess
import sys

import pytest

from tools.gallery import CLAIMS, Claim

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EVIDENCE = ROOT / "docs" / "gallery" / "evidence.json"
NOT_EXAMPLES = {"__init__.py", "_common.py"}
SCRIPTS = sorted(
    path.name for path in EXAMPLES.glob("*.py") if path.name not in NOT_EXAMPLES
)


def _main_arguments(script):
    tree = ast.parse((EXAMPLES / script).read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return [a.arg for a in node.args.args + node.args.kwonlyargs]
    return None


# Loops rather than parametrization: conftest's per-test set-up costs ~0.2 s each.
def test_every_example_has_a_claim_and_a_quick_main():
    claimed = {claim.script for claim in CLAIMS}
    assert SCRIPTS, "no example scripts found"
    assert not [s for s in SCRIPTS if s not in claimed], "examples without a Claim"
    bad = [s for s in SCRIPTS if (_main_arguments(s) or [None])[:1] != ["quick"]]
    assert not bad, f"no main(quick...) in {bad}"


def test_every_claim_names_an_existing_script_once():
    scripts = [claim.script for claim in CLAIMS]
    assert len(scripts) == len(set(scripts))
    for claim in CLAIMS:
        assert (EXAMPLES / claim.script).is_file(), claim.script
        assert claim.figures and all(
            f.startswith("examples/output/") for f in claim.figures
        )


def test_sentences_render_on_recorded_evidence():
    evidence = json.loads(EVIDENCE.read_text())
    ran = [claim for claim in CLAIMS if claim.script in evidence]
    assert ran, "docs/gallery/evidence.json holds no example"
    for claim in ran:
        sentence = claim.sentence(evidence[claim.script])
        assert isinstance(sentence, str) and sentence.endswith("."), claim.script
        assert "{" not in sentence, claim.script


def test_gallery_names_each_entrys_setting_and_all_its_figures(monkeypatch):
    from tools import evidence

    claims = [
        Claim("Two figures", "a.py", ("x/one.png", "x/two.png"), lambda n: "A."),
        Claim("Not run", "b.py", "x/three.png", lambda n: "B."),
        Claim("One figure", "c.py", "x/four.png", lambda n: f"C {n['value']}."),
    ]
    monkeypatch.setattr(evidence, "CLAIMS", claims)
    monkeypatch.setattr(evidence, "machine_line", lambda: "a test machine")
    text = evidence.gallery_markdown(
        {
            "a.py": {"setting": "quick", "seconds": 3.2},
            "c.py": {"setting": "full", "seconds": 40.0, "value": 7},
        }
    )
    assert "(gallery/one.png)" in text and "(gallery/two.png)" in text
    assert "three.png" not in text and "Not run" not in text
    assert "**Two figures** (`examples/a.py`, quick setting, 3 s) — A." in text
    assert "(`examples/c.py`, full setting, 40 s) — C 7." in text


def test_docs_gallery_is_generated_from_the_committed_evidence():
    from tools import evidence
    from tools.pages import machine_line, read_section

    section = read_section("gallery")
    generated = evidence.gallery_markdown(json.loads(EVIDENCE.read_text()))
    # The first paragraph names the machine and date of the run; the rest must match.
    assert (
        machine_line()
        and section.strip().split("\n\n", 1)[1] == (generated.split("\n\n", 1)[1])
    )


def test_a_quick_run_keeps_a_stored_full_entry(monkeypatch, tmp_path):
    from tools import evidence

    (tmp_path / "evidence.json").write_text(
        json.dumps({"a.py": {"setting": "full", "seconds": 9.0, "value": 1}})
    )
    claims = [
        Claim("A", "a.py", "x/a.png", lambda n: "A."),
        Claim("B", "b.py", "x/b.png", lambda n: "B."),
    ]
    ran = []

    def fake_run(script, quick):
        ran.append(script)
        return {"value": 2}, 1.0

    monkeypatch.setattr(evidence, "CLAIMS", claims)
    monkeypatch.setattr(evidence, "GALLERY", tmp_path)
    monkeypatch.setattr(evidence, "OUTPUT", tmp_path / "output")
    monkeypatch.setattr(evidence, "run_example", fake_run)
    monkeypatch.setattr("sys.argv", ["evidence.py", "--quick", "--no-pages"])
    evidence.main()
    stored = json.loads((tmp_path / "evidence.json").read_text())
    assert ran == ["b.py"]
    assert stored["a.py"] == {"setting": "full", "seconds": 9.0, "value": 1}
    assert stored["b.py"] == {"setting": "quick", "seconds": 1.0, "value": 2}


def test_examples_run_from_anywhere_without_path_edits():
    for script in SCRIPTS:
        text = (EXAMPLES / script).read_text()
        assert "sys.path" not in text, script
        assert "examples._common" not in text, script


@pytest.mark.slow
@pytest.mark.parametrize("script", ["optimizer_race.py", "lr_finder.py"])
def test_quick_run_from_another_directory(script, tmp_path):
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert isinstance(json.loads(completed.stdout.strip().splitlines()[-1]), dict)
