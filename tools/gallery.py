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


def _verdict(candidate, baseline, noise=0.0):
    """'helped (+x points)' / 'did not help (-x points)' for accuracies in [0, 1]."""
    points = 100 * (candidate - baseline)
    if abs(points) <= 100 * noise:
        return f"no clear effect ({points:+.1f} points, within seed noise)"
    return f"{'helped' if points > 0 else 'did not help'} ({points:+.1f} points)"


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
    "small_uniform": "small uniform",
    "glorot_uniform": "Glorot",
    "he_normal": "He",
    "svd_orthogonal": "orthogonal",
    "lsuv": "LSUV",
}


def _initialization(n):
    others = ", ".join(
        f"{label} {_pct(n[f'{key}_val_accuracy'])}"
        for key, label in _INIT_NAMES.items()
    )
    return (
        f"A {n['depth']}-layer, {n['width']}-wide ReLU MLP (SGD + momentum, "
        f"{n['epochs']} epochs) initialized with zeros keeps "
        f"{n['zeros_distinct_first_layer_units']} distinct first-layer unit(s) of "
        f"{n['width']}"
        + (
            " (symmetry never breaks)"
            if n["zeros_distinct_first_layer_units"] == 1
            else ""
        )
        + f" and ends at "
        f"{_pct(n['zeros_val_accuracy'])} validation accuracy; {others}."
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
    rows = {k: n[k] for k in ("too small", "suggested", "too large")}
    accuracies = [r["val_accuracy"] for r in rows.values()]
    return (
        f"The learning-rate range test (a sweep that stopped at "
        f"{n['divergence_lr']:.2g}) suggests {n['suggested_lr']:.2g}. The same "
        f"model trained {n['epochs']} epochs reaches validation accuracy "
        + ", ".join(
            f"{_pct(r['val_accuracy'])} at lr {r['lr']:.2g} ({label})"
            for label, r in rows.items()
        )
        + f": a {100 * (max(accuracies) - min(accuracies)):.0f}-point spread from "
        "the learning rate alone."
    )


def _one_cycle(n):
    to_target, limit = n["epochs_to_target"], n["epochs"]
    final = n["final_val_accuracy"]
    best = max(final, key=final.get)
    return (
        f"An MLP on digits with SGD + momentum for {limit} epochs, learning rates "
        f"from the range test (suggested {n['suggested_lr']:.2g}, one-cycle peak "
        f"{n['one_cycle_max_lr']:.2g}): "
        + "; ".join(
            f"{name} {_epochs(to_target[name], n['target_val_accuracy'], limit)} "
            f"(final validation accuracy {_pct(final[name])})"
            for name in ("constant", "step decay", "one-cycle")
        )
        + f". Best final accuracy: {best}."
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
    to_target, limit = n["epochs_to_target"], n["epochs"]
    faster = (to_target["batch norm (moving averages)"] or limit + 1) < (
        to_target["no batch norm"] or limit + 1
    )
    return (
        "A 6-layer sigmoid MLP (SGD 0.1 + momentum) "
        + "; ".join(
            f"{label} {_epochs(to_target[k], n['target_val_accuracy'], limit)} "
            f"(validation accuracy after epoch 1 "
            f"{_pct(n['first_epoch_val_accuracy'][k])}, final "
            f"{_pct(n['final_val_accuracy'][k])})"
            for k, label in names.items()
        )
        + ("." if faster else "; batch norm did not speed convergence in this run.")
    )


_HIGHWAY_LABELS = {
    "plain": "plain sigmoid Dense",
    "residual": "residual (layer-norm blocks)",
    "highway-2": "highway (gate bias -2)",
    "highway-3": "highway (gate bias -3)",
}


def _highway(n):
    acc = n["final_val_accuracy"]
    deep = {k: v for k, v in acc.items() if k != "plain"}
    stalled = [_HIGHWAY_LABELS[k] for k, v in deep.items() if v < 0.5]
    verdict = (
        "the plain net stalls"
        if max(deep.values()) - acc["plain"] > 0.1
        else "the plain net does not stall at this depth/budget"
    )
    return (
        f"{n['depth']}-layer MLPs on digits after {n['epochs']} epochs, validation "
        "accuracy: "
        + ", ".join(f"{label} {_pct(acc[k])}" for k, label in _HIGHWAY_LABELS.items())
        + f"; {verdict}"
        + (f"; still below 50 %: {', '.join(stalled)}" if stalled else "")
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
    missed = [s for s in sets if mc["auroc"][s] < 0.6]
    return (
        f"Predictive entropy separates test digits from shifted inputs with AUROC "
        f"(MC dropout, {n['num_samples']} samples, vs deterministic) "
        + ", ".join(f"{s} {mc['auroc'][s]:.2f} vs {det['auroc'][s]:.2f}" for s in sets)
        + (f"; not flagged: {', '.join(missed)} (AUROC below 0.6)" if missed else "")
        + f". ECE {mc['ece']:.3f} vs {det['ece']:.3f}, test accuracy "
        f"{_pct(mc['test_accuracy'])} vs {_pct(det['test_accuracy'])}."
    )


def _layernorm(n):
    final, speed = n["final_val_accuracy"], n["seconds_per_epoch"]
    return (
        f"On mnist1d sequences ({n['train_examples']} training examples, "
        f"{n['epochs']} epochs, {n['units']} units), final validation accuracy: "
        f"LSTM {_pct(final['LSTM'])} ({speed['LSTM']} s/epoch), LayerNormLSTM "
        f"{_pct(final['LayerNormLSTM'])} ({speed['LayerNormLSTM']} s/epoch); "
        f"layer norm {_verdict(final['LayerNormLSTM'], final['LSTM'])}."
    )


def _irnn(n):
    mse = {
        "tanh RNN": n["tanh_val_mse"],
        "IRNN": n["irnn_val_mse"],
        "IRNN + spectral bound": n["irnn_spectral_bound_val_mse"],
    }
    solved = [k for k, v in mse.items() if v < n["mean_predictor_mse"] / 2]
    return (
        f"On the adding problem (length {n['sequence_length']}, {n['epochs']} "
        f"epochs; predicting the mean scores MSE {n['mean_predictor_mse']}), "
        "validation MSE: "
        + ", ".join(f"{k} {v}" for k, v in mse.items())
        + "; below half the mean predictor's MSE: "
        + (", ".join(solved) if solved else "none in this budget")
        + "."
    )


_BAYESIAN_ORDER = ("plain", "dropout", "MC dropout", "Bayesian")


def _bayesian(n):
    tasks = [k for k, v in n.items() if isinstance(v, dict)]
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
                f"{m} {_pct(rows[m]['accuracy_mean'])} ({rows[m]['ece_mean']:.3f})"
                for m in _BAYESIAN_ORDER
                if m in rows
            )
            + f" — Bayesian vs plain: {verdict}"
        )
    return (
        f"Test accuracy (ECE) over {n['seeds']} seed(s), {n['steps']} steps: "
        + "; ".join(parts)
        + "."
    )


def _signal(n):
    order = ["MLP", "MLP + BN + dropout", "MLP + BN + dropout + augmentation"]
    order += ["CNN", "CNN + augmentation"]
    models = sorted(
        (k for k, v in n.items() if isinstance(v, dict)),
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
            f"on {base}: {_verdict(n[aug]['test_accuracy_mean'], n[base]['test_accuracy_mean'])}"
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
        "examples/output/lr_finder.png",
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
