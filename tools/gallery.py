"""The seed notes' claims, each tied to the example that measures it.

`tools/evidence.py` fills each sentence from the example's printed JSON, so every
number in the docs' gallery is measured, never typed. Where the numbers do not
support a claim, the sentence says so.
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Claim:
    """A seed claim, its example script, its figure(s), and its measured sentence.

    `figure` is one path or a tuple of paths (relative to the repository root).
    """

    title: str
    script: str
    figure: str | tuple[str, ...]
    sentence: Callable[[dict], str]

    @property
    def figures(self):
        """The claim's figure paths, always as a tuple."""
        return (self.figure,) if isinstance(self.figure, str) else tuple(self.figure)


def _pct(value):
    return f"{100 * value:.1f} %"


def _mean_std(row, key="test_accuracy"):
    """'mean ± std' in percent; just the mean when there is no spread (one seed)."""
    mean, std = row[f"{key}_mean"], row[f"{key}_std"]
    return f"{_pct(mean)} ± {100 * std:.1f}" if std else _pct(mean)


def _rows(n):
    """The keys of an entry's per-method rows: its dict values, less the code
    fingerprint that `tools/evidence.py` adds."""
    return [k for k, v in n.items() if isinstance(v, dict) and k != "code"]


def _verdict(
    candidate,
    baseline,
    noise=0.0,
    *,
    scale=100,
    unit="points",
    words=("helped", "did not help"),
    lower_is_better=False,
):
    """The verdict of `candidate` against `baseline`, a tie when within seed noise.

    `noise` is the seed-to-seed spread (the larger standard deviation of the two
    arms): a difference no larger than it is "no clear effect". Otherwise the first
    of `words` when the candidate is better, the second when it is worse. The
    difference is shown times `scale` in `unit` (default: accuracies in [0, 1] as
    percentage points).
    """
    difference = scale * (candidate - baseline)
    if abs(difference) <= scale * noise:
        return f"no clear effect ({difference:+.1f} {unit}, within seed noise)"
    better = difference < 0 if lower_is_better else difference > 0
    return f"{words[0] if better else words[1]} ({difference:+.1f} {unit})"


def _versus(rows, candidate, baseline, **kwargs):
    """`_verdict` of two arms' per-seed `spread` rows (mean, std), noise the larger std."""
    a, b = rows[candidate], rows[baseline]
    return _verdict(a["mean"], b["mean"], max(a["std"], b["std"]), **kwargs)


def _spread(row, percent=True, digits=3):
    """'mean ± std' of a per-seed `spread` row: in percent, or with `digits` decimals."""
    if percent:
        return f"{_pct(row['mean'])} ± {100 * row['std']:.1f}"
    return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"


def _seeds_phrase(n):
    """'3 seeds' (mean ± std over them), or a warning when there is only one."""
    seeds = n["seeds"]
    return (
        f"{seeds} seeds, mean ± std" if seeds > 1 else "1 seed: no spread, no verdict"
    )


def _epochs_spread(per_seed, target, limit):
    """'reaches 97 % in 3 of 3 seeds (epochs 12–16)' from per-seed epochs (None: never)."""
    reached = [e for e in per_seed if e is not None]
    if not reached:
        return f"never reaches {_pct(target)} in {limit} epochs"
    epochs = (
        f"epoch {reached[0]}"
        if min(reached) == max(reached)
        else f"epochs {min(reached)}–{max(reached)}"
    )
    return (
        f"reaches {_pct(target)} in {len(reached)} of {len(per_seed)} seeds ({epochs})"
    )


def _epochs_row(per_seed, limit):
    """Mean and std of per-seed epochs to a target; a seed that never gets there
    counts as `limit + 1`."""
    values = [limit + 1 if e is None else e for e in per_seed]
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return {"mean": mean, "std": std}


def _epochs(value, target, limit):
    if value is None:
        return f"never reaches {_pct(target)} in {limit} epochs"
    return f"reaches {_pct(target)} after {value} epoch{'s' if value != 1 else ''}"


def _vanishing(n):
    ratios = {k: n[f"{k}_first_to_last_ratio"] for k in ("sigmoid", "tanh", "relu")}
    shown = "vanishing reproduced" if ratios["sigmoid"] < 1e-3 else "NOT reproduced"
    return (
        f"In a {n['depth']}-layer MLP at initialization, the first layer's gradient "
        f"norm is {ratios['sigmoid']:.2g}× the last layer's with sigmoid + Glorot "
        f"({'' if n['sigmoid_flagged_vanishing'] else 'not '}flagged by "
        f"GradientHealth), {ratios['tanh']:.2g}× with tanh and "
        f"{ratios['relu']:.2g}× with ReLU + He ({shown}); validation accuracy after "
        f"{n['epochs']} epochs: sigmoid {_pct(n['sigmoid_val_accuracy'])}, tanh "
        f"{_pct(n['tanh_val_accuracy'])}, ReLU {_pct(n['relu_val_accuracy'])}."
    )


_INIT_NAMES = {
    "small uniform": "small uniform",
    "Glorot uniform": "Glorot",
    "He normal": "He",
    "SVD orthogonal": "orthogonal",
    "LSUV": "LSUV",
}


def _initialization(n):
    accuracy, width = n["val_accuracy"], n["width"]
    distinct = n["zeros_distinct_first_layer_units"]
    others = ", ".join(
        f"{label} {_spread(accuracy[key])}" for key, label in _INIT_NAMES.items()
    )
    trained = [
        key
        for key in _INIT_NAMES
        if key != "Glorot uniform" and accuracy[key]["min"] > 0.5
    ]
    return (
        f"A {n['depth']}-layer, {width}-wide ReLU MLP (SGD + momentum, "
        f"{n['epochs']} epochs, {_seeds_phrase(n)}) initialized with zeros keeps "
        f"{max(distinct)} distinct first-layer unit(s) of {width}"
        + (" (symmetry never breaks)" if max(distinct) == 1 else "")
        + f" and ends at {_spread(accuracy['zeros'])} validation accuracy; "
        f"{others}."
        + (
            " Against Glorot (schemes above 50 % in every seed): "
            + "; ".join(
                f"{_INIT_NAMES[key]} {_versus(accuracy, key, 'Glorot uniform')}"
                for key in trained
            )
            + "."
            if trained
            else ""
        )
    )


def _race(n, function, target):
    rows = n[function]
    finals = ", ".join(f"{name} {row['final_f']:.3g}" for name, row in rows.items())
    arrived = {k: r["steps_to_target"] for k, r in rows.items()}
    arrived = {k: v for k, v in arrived.items() if v is not None}
    if not arrived:
        return (
            f"on {function.capitalize()}, final f: {finals}; none gets below {target}"
        )
    first = min(arrived, key=arrived.get)
    return (
        f"on {function.capitalize()}, final f: {finals}; {len(arrived)} of "
        f"{len(rows)} get below {target}, first {first} (step {arrived[first]})"
    )


def _optimizer_race(n):
    return (
        f"After {n['steps']} steps {_race(n, 'rosenbrock', 0.01)}. "
        f"Then {_race(n, 'saddle', -0.4)}."
    )


def _lr_finder(n):
    labels = ("too small", "suggested", "too large")
    rows = {label: n[label]["val_accuracy"] for label in labels}
    means = [row["mean"] for row in rows.values()]
    noise = max(row["std"] for row in rows.values())
    return (
        f"The learning-rate range test (a sweep that stopped at "
        f"{n['divergence_lr']:.2g}) suggests {n['suggested_lr']:.2g}. The same "
        f"model trained {n['epochs']} epochs ({_seeds_phrase(n)}) reaches "
        "validation accuracy "
        + ", ".join(
            f"{_spread(rows[label])} at lr {n[label]['lr']:.2g} ({label})"
            for label in labels
        )
        + f": a {100 * (max(means) - min(means)):.0f}-point spread from the "
        f"learning rate alone, against at most {100 * noise:.1f} points of seed "
        "spread. The suggestion vs too small: "
        f"{_versus(rows, 'suggested', 'too small')}; vs too large: "
        f"{_versus(rows, 'suggested', 'too large')}."
    )


def _one_cycle(n):
    limit, target = n["epochs"], n["target_val_accuracy"]
    final, to_target = n["final_val_accuracy"], n["epochs_to_target"]
    names = ("constant", "step decay", "one-cycle")
    epochs = {name: _epochs_row(to_target[name], limit) for name in names}
    return (
        f"An MLP on digits with SGD + momentum for {limit} epochs "
        f"({_seeds_phrase(n)}), learning rates from the range test (suggested "
        f"{n['suggested_lr']:.2g}, one-cycle peak {n['one_cycle_max_lr']:.2g}), "
        "final validation accuracy: "
        + "; ".join(
            f"{name} {_spread(final[name])}, "
            f"{_epochs_spread(to_target[name], target, limit)}"
            for name in names
        )
        + ". One-cycle's final accuracy vs "
        + ", vs ".join(
            f"{name}: {_versus(final, 'one-cycle', name)}" for name in names[:2]
        )
        + f". Its epochs to {_pct(target)} (never = {limit + 1}) vs "
        + ", vs ".join(
            f"{name}: "
            + _versus(
                epochs,
                "one-cycle",
                name,
                scale=1,
                unit="epochs",
                words=("faster", "slower"),
                lower_is_better=True,
            )
            for name in names[:2]
        )
        + "."
    )


def _dropout(n):
    base = n["no regularization"]
    parts = []
    for method in ("dropout 0.5", "DropConnect 0.5"):
        row = n[method]
        noise = max(row["test_accuracy_std"], base["test_accuracy_std"])
        verdict = _verdict(row["test_accuracy_mean"], base["test_accuracy_mean"], noise)
        parts.append(f"{method} {_mean_std(row)}: {verdict}")
    return (
        f"Trained on 300 labeled digits for {n['epochs']} epochs "
        f"({base['seeds']} seeds), test accuracy without regularization "
        f"{_mean_std(base)} (train {_pct(base['train_accuracy_mean'])}); with "
        + "; ".join(parts)
        + "."
    )


def _batchnorm(n):
    names = {
        "no batch norm": "without batch norm",
        "batch norm (moving averages)": "with batch norm",
        "batch norm + PreciseBatchNorm": "with batch norm + PreciseBatchNorm",
    }
    limit, target = n["epochs"], n["target_val_accuracy"]
    to_target, first = n["epochs_to_target"], n["first_epoch_val_accuracy"]
    epochs = {name: _epochs_row(to_target[name], limit) for name in names}
    faster = dict(
        scale=1, unit="epochs", words=("faster", "slower"), lower_is_better=True
    )
    return (
        f"A 6-layer sigmoid MLP (SGD 0.1 + momentum, {_seeds_phrase(n)}) "
        + "; ".join(
            f"{label} {_epochs_spread(to_target[k], target, limit)} "
            f"(validation accuracy after epoch 1 {_spread(first[k])}, final "
            f"{_spread(n['final_val_accuracy'][k])})"
            for k, label in names.items()
        )
        + f". Epochs to {_pct(target)} (never = {limit + 1}), batch norm vs none: "
        + _versus(epochs, "batch norm (moving averages)", "no batch norm", **faster)
        + "; after epoch 1, PreciseBatchNorm vs moving averages: "
        + _versus(
            first, "batch norm + PreciseBatchNorm", "batch norm (moving averages)"
        )
        + "."
    )


_HIGHWAY_LABELS = {
    "plain": "plain sigmoid Dense",
    "residual": "residual (layer-norm blocks)",
    "highway-2": "highway (gate bias -2)",
    "highway-3": "highway (gate bias -3)",
}


def _highway(n):
    acc = n["final_val_accuracy"]
    deep = [k for k in _HIGHWAY_LABELS if k != "plain"]
    stalled = [_HIGHWAY_LABELS[k] for k in deep if acc[k]["min"] < 0.5]
    return (
        f"{n['depth']}-layer MLPs on digits after {n['epochs']} epochs "
        f"({_seeds_phrase(n)}), validation accuracy: "
        + ", ".join(
            f"{label} {_spread(acc[k])}" for k, label in _HIGHWAY_LABELS.items()
        )
        + ". Against the plain net: "
        + "; ".join(f"{_HIGHWAY_LABELS[k]} {_versus(acc, k, 'plain')}" for k in deep)
        + f"; gate bias -3 vs -2: {_versus(acc, 'highway-3', 'highway-2')}"
        + (f"; below 50 % in some seed: {', '.join(stalled)}" if stalled else "")
        + "."
    )


def _pretraining(n):
    acc = n["accuracy"]
    pretrained = [m for m in acc if m != "random init"]
    methods = ["random init", *pretrained]
    counts = sorted(acc["random init"], key=int)
    parts = []
    for count in counts:
        random_init = acc["random init"][count]
        best = max(pretrained, key=lambda m: acc[m][count]["mean"])
        row = acc[best][count]
        verdict = _verdict(
            row["mean"], random_init["mean"], max(row["std"], random_init["std"])
        )
        parts.append(
            f"with {count} labels "
            + ", ".join(f"{m} {_pct(acc[m][count]['mean'])}" for m in methods)
            + f"; best pretraining ({best}) vs random init: {verdict}"
        )
    return (
        f"Sigmoid MLP on digits, test accuracy over {n['seeds']} seed(s): "
        + "; ".join(parts)
        + "."
    )


def _rbm(n):
    return (
        f"A 100-unit persistent-CD RBM trained {n['epochs']} epochs "
        f"({n['train_seconds']:.0f} s) reaches reconstruction error "
        f"{n['reconstruction_error']:.3g} and pseudo-log-likelihood "
        f"{n['pseudo_log_likelihood']:.3g} (validation "
        f"{n['val_pseudo_log_likelihood']:.3g}; free-energy gap validation − train "
        f"{n['free_energy_gap_val_minus_train']:.3g})."
    )


def _tune(n):
    hit = n.get("trials_to_0.975")
    return (
        f"CoarseToFine over SmithingHyperModel: the best of {n['trials']} trials "
        f"({n['failed_trials']} failed, {n['minutes']:.1f} min) reaches "
        f"{_pct(n['best_val_accuracy'])} validation and "
        f"{_pct(n['best_test_accuracy'])} test accuracy; first trial ≥ 97.5 % "
        f"validation: {hit if hit is not None else 'none'}. "
        + (
            f"Early stopping and MedianPruner ({n['pruned_trials']} trials pruned) "
            f"cut training to {n['epochs_trained']} of {n['max_epochs']} epochs. "
            if "pruned_trials" in n
            else ""
        )
        + (
            f"Most important hyperparameter: {next(iter(n['importance']))}. "
            if n.get("importance")
            else ""
        )
        + "This example does not "
        "race the strategies: random vs grid vs coarse-to-fine is measured in "
        "`benchmarks/bench_tuners.py`."
    )


def _mc_dropout(n):
    det, mc = n["deterministic"], n["MC dropout (mc_predict)"]
    sets = list(mc["auroc"])
    missed = [s for s in sets if mc["auroc"][s]["mean"] < 0.6]
    auroc = dict(scale=100, unit="AUROC points", words=("better", "worse"))
    return (
        f"Predictive entropy separates test digits from shifted inputs with AUROC "
        f"({_seeds_phrase(n)}; MC dropout with {n['num_samples']} samples vs "
        "deterministic) "
        + ", ".join(
            f"{s} {_spread(mc['auroc'][s], False, 2)} vs "
            f"{_spread(det['auroc'][s], False, 2)}: "
            + _versus(
                {"mc": mc["auroc"][s], "det": det["auroc"][s]}, "mc", "det", **auroc
            )
            for s in sets
        )
        + (f"; not flagged: {', '.join(missed)} (AUROC below 0.6)" if missed else "")
        + f". ECE {_spread(mc['ece'], percent=False)} vs "
        f"{_spread(det['ece'], percent=False)} (MC dropout "
        + _versus(
            {"mc": mc["ece"], "det": det["ece"]},
            "mc",
            "det",
            words=("better calibrated", "worse calibrated"),
            lower_is_better=True,
        )
        + f"), test accuracy {_spread(mc['test_accuracy'])} vs "
        f"{_spread(det['test_accuracy'])} ("
        + _versus({"mc": mc["test_accuracy"], "det": det["test_accuracy"]}, "mc", "det")
        + ")."
    )


def _layernorm(n):
    final, speed = n["final_val_accuracy"], n["seconds_per_epoch"]
    return (
        f"On mnist1d sequences ({n['train_examples']} training examples, "
        f"{n['epochs']} epochs, {n['units']} units, {_seeds_phrase(n)}), final "
        f"validation accuracy: LSTM {_spread(final['LSTM'])} "
        f"({_spread(speed['LSTM'], False, 2)} s/epoch), LayerNormLSTM "
        f"{_spread(final['LayerNormLSTM'])} "
        f"({_spread(speed['LayerNormLSTM'], False, 2)} s/epoch); layer norm "
        f"{_versus(final, 'LayerNormLSTM', 'LSTM')}."
    )


_IRNN_NAMES = {
    "tanh": "tanh RNN",
    "IRNN": "IRNN",
    "IRNN + spectral bound": "IRNN + spectral bound",
}


def _irnn(n):
    mse, baseline = n["val_mse"], n["mean_predictor_mse"]
    # As a percentage of the mean predictor's MSE, so differences read in points.
    relative = {
        kind: {"mean": row["mean"] / baseline, "std": row["std"] / baseline}
        for kind, row in mse.items()
    }
    lower = dict(
        unit="points of the mean predictor's MSE",
        words=("lower", "higher"),
        lower_is_better=True,
    )
    solved = {
        kind: sum(v < baseline / 2 for v in row["values"]) for kind, row in mse.items()
    }
    return (
        f"On the adding problem (length {n['sequence_length']}, {n['epochs']} "
        f"epochs, {_seeds_phrase(n)}; predicting the mean scores MSE {baseline}), "
        "validation MSE: "
        + ", ".join(
            f"{_IRNN_NAMES[kind]} {_spread(row, False, 4)} (below half the mean "
            "predictor's in "
            f"{solved[kind]} of {n['seeds']} seeds)"
            for kind, row in mse.items()
        )
        + ". IRNN vs tanh RNN: "
        + _versus(relative, "IRNN", "tanh", **lower)
        + "; the spectral bound vs the plain IRNN: "
        + _versus(relative, "IRNN + spectral bound", "IRNN", **lower)
        + "."
    )


_BAYESIAN_ORDER = ("plain", "dropout", "MC dropout", "Bayesian")


def _bayesian(n):
    tasks = _rows(n)
    parts = []
    for task in tasks:
        rows = n[task]
        verdict = _verdict(
            rows["Bayesian"]["accuracy_mean"],
            rows["plain"]["accuracy_mean"],
            max(rows["Bayesian"]["accuracy_std"], rows["plain"]["accuracy_std"]),
        )
        parts.append(
            f"{task.replace('_', ', ')} labels: "
            + ", ".join(
                f"{m} {_mean_std(rows[m], 'accuracy')} ({rows[m]['ece_mean']:.3f})"
                for m in _BAYESIAN_ORDER
                if m in rows
            )
            + f" — Bayesian vs plain: {verdict}"
        )
    return (
        f"Test accuracy, mean ± std (mean ECE) over {n['seeds']} seed(s), "
        f"{n['steps']} steps: " + "; ".join(parts) + "."
    )


def _signal(n):
    order = ["MLP", "MLP + BN + dropout", "MLP + BN + dropout + augmentation"]
    order += ["CNN", "CNN + augmentation"]
    models = sorted(
        _rows(n),
        key=lambda m: order.index(m) if m in order else len(order),
    )
    gains = {
        "MLP + BN + dropout": "MLP + BN + dropout + augmentation",
        "CNN": "CNN + augmentation",
    }
    return (
        f"mnist1d ({n['train_examples']} training signals, {n['epochs']} epochs, "
        f"{n['seeds']} seed(s)), test accuracy: "
        + ", ".join(f"{m} {_mean_std(n[m])}" for m in models)
        + ". Circular-shift + jitter augmentation "
        + "; ".join(
            f"on {base}: "
            + _verdict(
                n[aug]["test_accuracy_mean"],
                n[base]["test_accuracy_mean"],
                max(n[aug]["test_accuracy_std"], n[base]["test_accuracy_std"]),
            )
            for base, aug in gains.items()
        )
        + "."
    )


_GOALS = {"MLP": 0.88, "CNN": 0.97}


def _mnist1d(n):
    table = n["table"]
    names = sorted(table, key=lambda name: table[name]["paper"])
    rows = ", ".join(
        f"{name} {_pct(table[name]['paper'])} / {_pct(table[name]['plain_mean'])} / "
        f"{_pct(table[name]['smithed_mean'])} / {_pct(table[name]['tta_mean'])}"
        for name in names
    )
    goals = "; ".join(
        f"{name} goal {_pct(goal)} "
        + ("met" if table[name]["smithed_mean"] >= goal else "NOT met")
        for name, goal in _GOALS.items()
    )
    tta_goals = "; ".join(
        f"{name} {'met' if table[name]['tta_mean'] >= goal else 'NOT met'}"
        for name, goal in _GOALS.items()
    )
    return (
        f"Test accuracy, mean over {n['seeds']} seed(s), as paper / plain Keras / "
        f"smithed / smithed + test-time augmentation (`tta_predict`): {rows}. "
        f"Smithed (final model, no test-time augmentation) {goals}; with "
        f"`tta_predict`: {tta_goals}"
        + (
            " (the goals are for the full setting; quick trains 1/20 of the epochs)."
            if n.get("setting") == "quick"
            else "."
        )
    )


def _pruning(n):
    dense, lost = n["dense_test_accuracy"], n["goal_points_lost"]
    criteria = ("magnitude", "saliency")
    targets = list(n["magnitude"])
    curves = ", ".join(
        f"{c} " + " / ".join(_pct(n[c][t]["test_accuracy"]) for t in targets)
        for c in criteria
    )
    met = [c for c in criteria if lost[c] <= 1.0]
    return (
        f"A 64-256-256-10 digits MLP ({n['epochs']} epochs, pruned over epochs "
        f"{n['prune_epochs'][0]}-{n['prune_epochs'][1]}, {n['seeds']} seed(s)) "
        f"reaches {_pct(dense)} test accuracy dense; with "
        + " / ".join(f"{100 * float(t):g} %" for t in targets)
        + f" of every Dense kernel at zero: {curves}. At 90 % the loss is "
        + ", ".join(f"{lost[c]:.1f} points ({c})" for c in criteria)
        + ": the ≤ 1 point goal is "
        + (f"met by {' and '.join(met)}." if met else "NOT met.")
    )


def _multiprocess(n):
    same = n["max_difference_between_processes"] == 0
    return (
        f"{n['processes']} JAX processes, each fed its half of digits, end "
        + ("with identical weights" if same else "with DIFFERENT weights")
        + f" after {n['epochs']} epochs (weight normalization, ghost batch norm, "
        "Lookahead over RectifiedAdam, pruning, precise batch-norm statistics); one "
        "process trained on all the data ends within "
        f"{n['max_difference_vs_one_process']:.1g} of them (the order of the float "
        f"sums differs), validation accuracy {_pct(n['val_accuracy'])} vs "
        f"{_pct(n['val_accuracy_one_process'])}."
    )


CLAIMS = [
    Claim(
        "The default recipe",
        "quickstart.py",
        "examples/output/quickstart.png",
        lambda n: (
            "ReLU + He init + batch norm + L2 + dropout + Adam 3e-4 + early stopping "
            f"reach {_pct(n['test_accuracy'])} test accuracy on digits after "
            f"{n['epochs_trained']} epochs."
        ),
    ),
    Claim(
        "Sigmoid depth makes gradients vanish",
        "vanishing_gradients.py",
        "examples/output/vanishing_gradients.png",
        _vanishing,
    ),
    Claim(
        "Zero init fails by symmetry; He, orthogonal and LSUV train deep ReLU nets",
        "initialization.py",
        "examples/output/initialization.png",
        _initialization,
    ),
    Claim(
        "The optimizer race",
        "optimizer_race.py",
        (
            "examples/output/optimizer_race_rosenbrock.png",
            "examples/output/optimizer_race_saddle.png",
        ),
        _optimizer_race,
    ),
    Claim(
        "The learning rate matters most",
        "lr_finder.py",
        ("examples/output/lr_finder.png", "examples/output/lr_finder_runs.png"),
        _lr_finder,
    ),
    Claim(
        "One-cycle learning rate trains faster",
        "one_cycle.py",
        "examples/output/one_cycle.png",
        _one_cycle,
    ),
    Claim(
        "Dropout and DropConnect on small data",
        "dropout_vs_dropconnect.py",
        "examples/output/dropout_vs_dropconnect.png",
        _dropout,
    ),
    Claim(
        "Batch norm speeds convergence",
        "batchnorm_convergence.py",
        "examples/output/batchnorm_convergence.png",
        _batchnorm,
    ),
    Claim(
        "Very deep highway and residual nets train where plain ones stall",
        "deep_highway.py",
        "examples/output/deep_highway.png",
        _highway,
    ),
    Claim(
        "Unsupervised pretraining with few labels",
        "pretraining.py",
        "examples/output/pretraining.png",
        _pretraining,
    ),
    Claim(
        "RBM filters and Gibbs samples",
        "rbm_samples.py",
        ("examples/output/rbm_filters.png", "examples/output/rbm_gibbs.png"),
        _rbm,
    ),
    Claim(
        "Hyperparameter search: coarse-to-fine",
        "tune_digits.py",
        (
            "examples/output/tune_digits_search.png",
            "examples/output/tune_digits_importance.png",
        ),
        _tune,
    ),
    Claim(
        "MC dropout flags out-of-distribution inputs",
        "mc_dropout_uncertainty.py",
        (
            "examples/output/mc_dropout_entropy.png",
            "examples/output/mc_dropout_reliability.png",
        ),
        _mc_dropout,
    ),
    Claim(
        "Layer-normalized LSTM",
        "layernorm_rnn.py",
        "examples/output/layernorm_rnn.png",
        _layernorm,
    ),
    Claim(
        "IRNN on the adding problem",
        "irnn.py",
        "examples/output/irnn.png",
        _irnn,
    ),
    Claim(
        "Bayesian layers on small data",
        "bayesian_small_data.py",
        "examples/output/bayesian_small_data.png",
        _bayesian,
    ),
    Claim(
        "Signal augmentation on mnist1d",
        "signal_augmentation.py",
        "examples/output/signal_augmentation.png",
        _signal,
    ),
    Claim(
        "The mnist1d table (Greydanus 2020)",
        "mnist1d_table.py",
        "examples/output/mnist1d_table.png",
        _mnist1d,
    ),
    Claim(
        "Gradual pruning to 90 % zeros (Zhu & Gupta 2017)",
        "pruning.py",
        "examples/output/pruning.png",
        _pruning,
    ),
    Claim(
        "Two processes train as one (JAX, keras.distribution)",
        "multiprocess.py",
        "examples/output/multiprocess.png",
        _multiprocess,
    ),
]
