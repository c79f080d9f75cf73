"""The benchmark runner's bookkeeping (no timing: benchmarks live in benchmarks/)."""

import json
import pathlib
import sys
import types

import benchmarks.__main__ as runner
from tools.pages import read_section

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _result(mode, date, rows):
    return {"mode": mode, "date": date, "machine": "m", "seconds": 1.0, "rows": rows}


def _row(name, ratio):
    return {"benchmark": name, "candidate_s": 1.0, "baseline": "b", "baseline_s": 1.0,
            "ratio": ratio, "target": None}  # fmt: skip


def test_docs_table_is_generated_from_the_committed_results():
    section = read_section("benchmarks")
    results = json.loads(runner.RESULTS.read_text())
    assert section.strip() == runner.results_markdown(results).strip()
    assert sorted(results) == sorted(
        p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")
    )


def test_only_remeasures_one_module_and_quick_keeps_full_rows(monkeypatch, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "bench_a": _result("full", "2026-01-01", [_row("a", 2.0)]),
                "bench_b": _result("quick", "2026-01-01", [_row("b", 3.0)]),
            }
        )
    )
    for name, ratio in (("bench_a", 9.0), ("bench_b", 4.0)):
        module = types.ModuleType(f"benchmarks.{name}")
        module.run = lambda quick, name=name, ratio=ratio: [_row(name, ratio)]
        monkeypatch.setitem(sys.modules, f"benchmarks.{name}", module)
        (tmp_path / f"{name}.py").touch()
    monkeypatch.setattr(runner, "HERE", tmp_path)
    monkeypatch.setattr(runner, "RESULTS", results)
    monkeypatch.setattr("sys.argv", ["benchmarks", "--quick", "--no-pages"])
    runner.main()
    stored = json.loads(results.read_text())
    assert stored["bench_a"]["rows"][0]["ratio"] == 2.0  # full rows kept
    assert stored["bench_b"]["rows"][0]["ratio"] == 4.0  # quick rows re-measured
    text = runner.results_markdown(stored)
    assert "bench_a in full mode on m, 2026-01-01" in text
    assert f"bench_b in quick mode on {runner.machine_line()}" in text


def test_docs_backend_table_is_generated_from_the_committed_results():
    from benchmarks.report import backends_markdown

    section = read_section("backends")
    stored = json.loads(runner.BACKEND_RESULTS.read_text())
    assert section.strip() == backends_markdown(stored).strip()
    backends = {variant.split(" · ")[1] for variant in stored}
    assert backends == {"tensorflow", "jax", "torch"}


def test_backend_table_has_one_column_per_variant():
    from benchmarks.report import backends_markdown

    stored = {
        "CPU · jax": {"bench_a": _result("quick", "d", [_row("a", 2.0)])},
        "CPU · tensorflow": {"bench_a": _result("quick", "d", [_row("a", 1.5)])},
    }
    table = backends_markdown(stored).splitlines()[-3:]
    assert table[0] == (
        "| benchmark vs baseline | CPU · jax | CPU · tensorflow | target |"
    )
    assert table[2] == "| a vs b | 2 | 1.5 |  |"
