"""Static checks of the examples and the evidence gallery (no training, no example imports)."""

import ast
import json
import pathlib

import pytest

from examples.gallery import CLAIMS, Claim

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EVIDENCE = EXAMPLES / "output" / "evidence.json"
NOT_EXAMPLES = {"evidence.py", "gallery.py", "__init__.py"}
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


@pytest.mark.skipif(not EVIDENCE.exists(), reason="run examples/evidence.py first")
def test_sentences_render_on_recorded_evidence():
    evidence = json.loads(EVIDENCE.read_text())
    ran = [claim for claim in CLAIMS if claim.script in evidence]
    if not ran:
        pytest.skip("no example has run yet")
    for claim in ran:
        sentence = claim.sentence(evidence[claim.script])
        assert isinstance(sentence, str) and sentence.endswith("."), claim.script
        assert "{" not in sentence, claim.script


def test_gallery_names_each_entrys_setting_and_all_its_figures(monkeypatch):
    from examples import evidence

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
    assert "(docs/gallery/one.png)" in text and "(docs/gallery/two.png)" in text
    assert "three.png" not in text and "Not run" not in text
    assert "**Two figures** (`examples/a.py`, quick setting, 3 s) — A." in text
    assert "(`examples/c.py`, full setting, 40 s) — C 7." in text
