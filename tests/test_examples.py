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
# `__init__.py` and the shared sibling modules (`_common.py`, `_seeds.py`).
SCRIPTS = sorted(
    path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")
)
REFRESH = "`make evidence EVIDENCE=full` (or `python -m tools.evidence --only NAME`)"

# Entries whose example (or a sibling module it imports) changed after their numbers
# were stored, and that have not been re-measured yet. This list may only shrink:
# re-measure an entry and remove it here (the test below fails on an entry listed
# here that is no longer stale). Each says why it waits and what a re-run costs
# (full setting, on the 2-core machine the gallery was measured on).
KNOWN_STALE = {}

# Comparisons of methods whose stored entry has fewer than 3 seeds, with why.
KNOWN_FEW_SEEDS = {}

# Examples that compare methods (their verdicts need a seed-to-seed spread).
COMPARISONS = {
    "bayesian_small_data.py",
    "batchnorm_convergence.py",
    "deep_highway.py",
    "dropout_vs_dropconnect.py",
    "initialization.py",
    "irnn.py",
    "layernorm_rnn.py",
    "lr_finder.py",
    "mc_dropout_uncertainty.py",
    "mnist1d_table.py",
    "one_cycle.py",
    "pretraining.py",
    "pruning.py",
    "signal_augmentation.py",
}


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

    monkeypatch.setattr(evidence, "code_fingerprint", lambda script: {script: "f"})
    monkeypatch.setattr(evidence, "CLAIMS", claims)
    monkeypatch.setattr(evidence, "GALLERY", tmp_path)
    monkeypatch.setattr(evidence, "OUTPUT", tmp_path / "output")
    monkeypatch.setattr(evidence, "run_example", fake_run)
    monkeypatch.setattr("sys.argv", ["evidence.py", "--quick", "--no-pages"])
    evidence.main()
    stored = json.loads((tmp_path / "evidence.json").read_text())
    assert ran == ["b.py"]
    assert stored["a.py"] == {"setting": "full", "seconds": 9.0, "value": 1}
    assert stored["b.py"] == {
        "setting": "quick",
        "seconds": 1.0,
        "value": 2,
        "code": {"b.py": "f"},
    }


def test_every_gallery_entry_was_measured_with_todays_code():
    from tools.evidence import stale_entries

    stale = stale_entries(json.loads(EVIDENCE.read_text()))
    unknown = {s: reason for s, reason in stale.items() if s not in KNOWN_STALE}
    assert not unknown, (
        "gallery entries measured with other code than today's: "
        + "; ".join(f"{s} ({reason})" for s, reason in unknown.items())
        + f". Re-run {REFRESH} and commit docs/gallery/."
    )
    fixed = sorted(set(KNOWN_STALE) - set(stale))
    assert not fixed, f"no longer stale, remove from KNOWN_STALE: {fixed}"


def test_every_comparison_states_at_least_three_seeds():
    evidence = json.loads(EVIDENCE.read_text())
    few = {}
    for script in sorted(COMPARISONS & set(evidence)):
        numbers = evidence[script]
        # The dropout entry stores its seed count per method.
        rows = [v for v in numbers.values() if isinstance(v, dict) and "seeds" in v]
        seeds = numbers.get("seeds", rows[0]["seeds"] if rows else 1)
        if numbers["setting"] == "full" and seeds < 3:
            few[script] = seeds
    unknown = {s: n for s, n in few.items() if s not in KNOWN_FEW_SEEDS}
    assert not unknown, f"comparisons with fewer than 3 seeds: {unknown}"
    fixed = sorted(set(KNOWN_FEW_SEEDS) - set(few))
    assert not fixed, f"now 3 seeds or more, remove from KNOWN_FEW_SEEDS: {fixed}"


def test_the_fingerprint_covers_the_script_and_the_sibling_modules_it_imports(
    monkeypatch, tmp_path
):
    from tools import evidence

    (tmp_path / "_common.py").write_text("A = 1\n")
    (tmp_path / "_seeds.py").write_text("B = 1\n")
    (tmp_path / "_unused.py").write_text("C = 1\n")
    (tmp_path / "demo.py").write_text(
        "import numpy\nfrom _common import A\nimport _seeds\n"
    )
    monkeypatch.setattr(evidence, "EXAMPLES", tmp_path)
    stored = {"code": evidence.code_fingerprint("demo.py")}
    assert sorted(stored["code"]) == ["_common.py", "_seeds.py", "demo.py"]
    assert evidence.staleness("demo.py", stored) is None
    (tmp_path / "_unused.py").write_text("C = 2\n")
    assert evidence.staleness("demo.py", stored) is None
    (tmp_path / "_common.py").write_text("A = 2\n")
    assert evidence.staleness("demo.py", stored).endswith(": _common.py")
    assert "no code fingerprint" in evidence.staleness("demo.py", {"value": 1})
    assert list(evidence.stale_entries({"demo.py": stored})) == ["demo.py"]


def test_check_lists_stale_entries_and_runs_nothing(monkeypatch, tmp_path, capsys):
    from tools import evidence

    (tmp_path / "demo.py").write_text("X = 1\n")
    monkeypatch.setattr(evidence, "EXAMPLES", tmp_path)
    monkeypatch.setattr(evidence, "GALLERY", tmp_path)
    monkeypatch.setattr(evidence, "run_example", lambda *a: pytest.fail("ran"))
    monkeypatch.setattr("sys.argv", ["evidence.py", "--check"])
    fresh = {"setting": "full", "code": evidence.code_fingerprint("demo.py")}
    (tmp_path / "evidence.json").write_text(json.dumps({"demo.py": fresh}))
    evidence.main()
    assert "all 1 gallery entries match their code" in capsys.readouterr().out
    (tmp_path / "demo.py").write_text("X = 2\n")
    with pytest.raises(SystemExit, match="1 of 1 gallery entries are stale"):
        evidence.main()
    out = capsys.readouterr().out
    assert "demo.py: changed since it was measured: demo.py" in out
    assert "python -m tools.evidence --only demo" in out


def test_a_stale_entry_says_so_in_the_gallery(monkeypatch):
    from tools import evidence

    claims = [Claim("Old", "a.py", "x/a.png", lambda n: "A.")]
    monkeypatch.setattr(evidence, "CLAIMS", claims)
    monkeypatch.setattr(evidence, "machine_line", lambda: "a test machine")
    monkeypatch.setattr(evidence, "staleness", lambda script, n: "changed")
    text = evidence.gallery_markdown({"a.py": {"setting": "full", "seconds": 1.0}})
    assert "— A. *Stale: measured with an earlier version of `examples/a.py`" in text


def test_a_verdict_within_the_seed_spread_is_a_tie():
    from tools.gallery import _verdict, _versus

    # Accuracies in [0, 1], noise = the larger seed std of the two arms.
    assert _verdict(0.95, 0.93, 0.005) == "helped (+2.0 points)"
    assert _verdict(0.90, 0.93, 0.01) == "did not help (-3.0 points)"
    assert _verdict(0.95, 0.93, 0.03) == (
        "no clear effect (+2.0 points, within seed noise)"
    )
    assert _verdict(0.95, 0.93, 0.02).startswith("no clear effect")  # At the edge.
    assert _verdict(0.95, 0.93) == "helped (+2.0 points)"  # No spread given.
    faster = dict(scale=1, unit="epochs", words=("faster", "slower"))
    assert _verdict(12, 16, 1, lower_is_better=True, **faster) == "faster (-4.0 epochs)"
    assert _verdict(16, 12, 1, lower_is_better=True, **faster) == "slower (+4.0 epochs)"
    assert _verdict(12, 13, 1.5, **faster).startswith("no clear effect (-1.0 epochs")
    # `_versus` takes the larger of the two arms' std as the noise.
    rows = {"a": {"mean": 0.95, "std": 0.001}, "b": {"mean": 0.93, "std": 0.03}}
    assert _versus(rows, "a", "b").startswith("no clear effect")
    assert _versus(rows, "b", "a").startswith("no clear effect")
    rows["b"]["std"] = 0.01
    assert _versus(rows, "a", "b") == "helped (+2.0 points)"


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
