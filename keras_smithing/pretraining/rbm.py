"""Restricted Boltzmann machines trained by contrastive divergence (CD-k) or PCD."""

from typing import Any, NamedTuple

import keras
import numpy as np
from keras import ops

from keras_smithing.pretraining.training import ClosedFormModel
from keras_smithing.utils.backend import (
    predict_here,
    random_normal,
    random_randint,
    random_uniform,
)
from keras_smithing.utils.validation import (
    check_array,
    check_bool,
    check_float,
    check_int,
    check_one_of,
    check_unit_interval,
    invalid_data,
    is_dataset,
)


class _Phase(NamedTuple):
    """The statistics of one CD-k / PCD update. `both` stacks the data and the
    negative samples, as the kernel's gradient takes them."""

    both: Any
    h_data: Any
    logits_data: Any
    v_model: Any
    h_model: Any
    logits_model: Any
    reconstruction: Any


_MONITORED_ROWS = 16  # Batch rows of the PCD reconstruction-error estimate.


def sample_bernoulli(p, seed):
    """Binary samples with probabilities `p` (`seed`: a `SeedGenerator`)."""
    noise = random_uniform(ops.shape(p), 0.0, 1.0, keras.config.floatx(), seed)
    return ops.cast(ops.less(ops.cast(noise, p.dtype), p), p.dtype)


def check_visible_data(x, name, visible, features=None):
    """Checks visible data; datasets and generators pass unchecked.

    Raises `ValueError` naming `name` unless `x` is a non-empty, finite 2-D array
    with `features` columns (when given) and, for Bernoulli visible units, values
    in [0, 1].

    Returns:
        `x` as a NumPy array; a scipy.sparse matrix (as sklearn's `BernoulliRBM`
        takes) densified. A dataset is returned as it is.
    """
    if is_dataset(x):
        return x
    x = check_array(
        name,
        x,
        ranks=(2,),
        expected="a non-empty 2-D array (batch, features)",
        densify=True,
    )
    if features is not None and x.shape[-1] != features:
        raise invalid_data(
            name,
            f"has {x.shape[-1]} features where the model was built with {features}",
            f"pass an array of shape (batch, {features})",
            f"{name}.shape={x.shape}",
        )
    if visible == "bernoulli":
        check_unit_interval(
            name,
            x,
            'scale the data to [0, 1] (e.g. x / 255) or use visible="gaussian" '
            "with standardized data",
        )
    return x


@keras.saving.register_keras_serializable(package="keras_smithing")
class RBM(ClosedFormModel):
    """Restricted Boltzmann machine trained with contrastive divergence.

    A bipartite model of visible units `v` and binary hidden units `h` with energy
    `E(v, h) = -v.b - h.c - v W h` (Bernoulli visibles) or
    `E(v, h) = |v - b|^2 / 2 - h.c - v W h` (Gaussian visibles with unit variance:
    standardize each input feature to zero mean and unit variance first, as in
    Hinton's practical guide). Calling the model returns the hidden
    probabilities `p(h=1 | v) = sigmoid(v W + c)`, which are the features used for
    pretraining; `hidden` is a plain sigmoid `keras.layers.Dense`, so its weights
    copy straight into an MLP.

    Train it with ordinary `compile(optimizer=...)` and `fit(x)` (no loss, no
    labels): the train step computes the CD-k gradient of the log-likelihood in
    closed form, `-(<v h>_data - <v h>_model)` for `W` and likewise for the biases,
    plus the weight-cost `weight_decay * W` (Hinton's guide, section 10; biases are
    not decayed), and hands it to `optimizer.apply`, so any Keras optimizer works
    (SGD with momentum is the classic choice). The negative statistics come from
    `k` steps of block Gibbs sampling started at the data (CD-k), or at
    `num_chains` persistent "fantasy particles" carried across updates
    (`persistent=True`: PCD, a.k.a. stochastic maximum likelihood, as in
    scikit-learn's `BernoulliRBM`). Visible units are sampled in every Gibbs step;
    the statistics use hidden probabilities.

    Progress-bar metrics: `reconstruction_error` (mean squared error of the
    one-step reconstruction of the batch; with `persistent=True` it costs an extra
    matrix product, so it is estimated on the first 16 examples of each batch),
    `free_energy_gap` (mean free energy of the batch minus that of the negative
    samples: the CD surrogate loss, near 0 when the model's samples look like the
    data) and, for Bernoulli visibles, `pseudo_log_likelihood` (per example, one
    randomly flipped unit, as in scikit-learn). Evaluation reports
    `reconstruction_error`, `free_energy` and `pseudo_log_likelihood`: a
    `val_free_energy` that drifts above the training free energy signals
    overfitting (guide, section 6).

    `fit` raises `ValueError` for Bernoulli inputs outside [0, 1] and for a feature
    count that does not match the built model, and stops with a `RuntimeWarning`,
    restoring the weights of the last good epoch, when the reconstruction error
    turns NaN. It trains on every backend, with `jit_compile` and data-parallel.
    For speed on CPU, pass
    `steps_per_execution` (e.g. the number of batches per epoch) to `compile`
    (TensorFlow and JAX; Keras requires 1 on PyTorch).

    Args:
        units: Positive integer, number of hidden units.
        visible: `"bernoulli"` (inputs in [0, 1]: binary or probabilities) or
            `"gaussian"` (real inputs, unit variance).
        k: Positive integer, Gibbs steps per update (CD-k; with `persistent=True`,
            steps the persistent chains advance per update).
        persistent: Whether to use persistent chains (PCD) instead of restarting
            the chains at the data.
        num_chains: Positive integer, number of persistent chains (used when
            `persistent=True`; scikit-learn uses one per batch example).
        weight_decay: Non-negative float, L2 weight-cost added to the gradient of
            `W` (typical: 1e-4).
        kernel_initializer: Initializer of `W` (default: normal with standard
            deviation 0.01, as in the guide, seeded by `seed`). Biases start at
            zero.
        seed: Integer seed of the default initializer and of the Gibbs sampling.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Visible data of shape `(batch, features)`.

    Returns:
        Hidden probabilities of shape `(batch, units)`.

    Reference:
        Hinton, "Training products of experts by minimizing contrastive
        divergence", Neural Computation 2002. Tieleman, "Training restricted
        Boltzmann machines using approximations to the likelihood gradient", ICML
        2008. Hinton, "A practical guide to training restricted Boltzmann
        machines", UTML TR 2010-003.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import RBM
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((64, 16)) < 0.3).astype("float32")  # Binary, in [0, 1].
    >>> rbm = RBM(8, persistent=True, num_chains=16, seed=0)
    >>> rbm.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    >>> history = rbm.fit(x, epochs=2, batch_size=16, verbose=0)  # No labels.
    >>> sorted(history.history)
    ['free_energy_gap', 'pseudo_log_likelihood', 'reconstruction_error']
    >>> rbm.transform(x).shape  # The learned features, p(h=1 | x).
    (64, 8)
    """

    def __init__(
        self,
        units,
        visible="bernoulli",
        k=1,
        persistent=False,
        num_chains=100,
        weight_decay=0.0,
        kernel_initializer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.visible = check_one_of("visible", visible, ("bernoulli", "gaussian"))
        self.k = check_int("k", k)
        self.persistent = check_bool("persistent", persistent)
        self.num_chains = check_int("num_chains", num_chains)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0, strict=False)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer
            or keras.initializers.RandomNormal(stddev=0.01, seed=seed)
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.hidden = keras.layers.Dense(
            self.units,
            activation="sigmoid",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="hidden",
        )
        self.reconstruction_error_tracker = keras.metrics.Mean(
            name="reconstruction_error"
        )
        self.free_energy_gap_tracker = keras.metrics.Mean(name="free_energy_gap")
        self.free_energy_tracker = keras.metrics.Mean(name="free_energy")
        self.pseudo_log_likelihood_tracker = keras.metrics.Mean(
            name="pseudo_log_likelihood"
        )

    def build(self, input_shape):
        features = input_shape[-1]
        self.hidden.build(input_shape)
        self.visible_bias = self.add_weight(
            shape=(features,), initializer="zeros", name="visible_bias"
        )
        if self.persistent:
            self.chains = self.add_weight(
                shape=(self.num_chains, self.units),
                initializer="zeros",
                trainable=False,
                name="persistent_chains",
            )

    def call(self, inputs):
        return self.hidden(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    # Conditionals and sampling.

    def _hidden_logits(self, v):
        return ops.matmul(v, self.hidden.kernel) + self.hidden.bias

    def _visible_mean(self, h):
        mean = ops.matmul(h, ops.transpose(self.hidden.kernel)) + self.visible_bias
        return ops.sigmoid(mean) if self.visible == "bernoulli" else mean

    def _bernoulli(self, p):
        return sample_bernoulli(p, self.seed_generator)

    def _sample_visible(self, mean):
        if self.visible == "bernoulli":
            return self._bernoulli(mean)
        noise = random_normal(
            ops.shape(mean), 1.0, keras.config.floatx(), self.seed_generator
        )
        return mean + ops.cast(noise, mean.dtype)

    def _visible_energy(self, v):
        if self.visible == "bernoulli":
            return -ops.matmul(v, self.visible_bias)
        return 0.5 * ops.sum(ops.square(v - self.visible_bias), axis=-1)

    def _free_energy(self, v, hidden_logits, visible_energy=None):
        if visible_energy is None:
            visible_energy = self._visible_energy(v)
        return visible_energy - ops.sum(ops.softplus(hidden_logits), axis=-1)

    def _data_metrics(self, v, hidden_logits):
        """Free energy and (Bernoulli) pseudo-log-likelihood of the data `v`.

        Both start from the same `-v.b`, and the pseudo-log-likelihood from the
        free energy itself: each is computed once.
        """
        visible_energy = self._visible_energy(v)
        logs = {"free_energy": self._free_energy(v, hidden_logits, visible_energy)}
        if self.visible == "bernoulli":
            logs["pseudo_log_likelihood"] = self._pseudo_log_likelihood(
                v, hidden_logits, visible_energy, logs["free_energy"]
            )
        return logs

    def _pseudo_log_likelihood(self, v, hidden_logits, visible_energy, energy):
        """scikit-learn's estimate: flip one random unit per example (Bernoulli).

        `visible_energy` and `energy` are `-v.b` and the free energy of `v`.
        """
        features = ops.shape(v)[-1]
        index = random_randint(
            (ops.shape(v)[0],), 0, features, "int32", self.seed_generator
        )
        bit = ops.take_along_axis(v, index[:, None], axis=1)[:, 0]
        flip = 1.0 - 2.0 * bit  # Change of the flipped unit.
        flipped_logits = hidden_logits + flip[:, None] * ops.take(
            self.hidden.kernel, index, axis=0
        )
        flipped_energy = (
            visible_energy
            - flip * ops.take(self.visible_bias, index)
            - ops.sum(ops.softplus(flipped_logits), axis=-1)
        )
        gap = flipped_energy - energy
        return ops.cast(features, v.dtype) * ops.log_sigmoid(gap)

    # Training.

    def _negative_phase(self, v):
        """Positive and negative statistics of one CD-k / PCD update."""
        if self.persistent:
            h = ops.cast(self.chains, v.dtype)
            for step in range(self.k):
                v_model = self._sample_visible(self._visible_mean(h))
                if step < self.k - 1:
                    h = self._bernoulli(ops.sigmoid(self._hidden_logits(v_model)))
            # One matmul for the hidden units of data and fantasy particles.
            both = ops.concatenate([v, v_model], axis=0)
            logits = self._hidden_logits(both)
            logits_data, logits_model = (
                logits[: -self.num_chains],
                logits[-self.num_chains :],
            )
            h_data, h_model = ops.sigmoid(logits_data), ops.sigmoid(logits_model)
            self.chains.assign(ops.cast(self._bernoulli(h_model), self.chains.dtype))
            # The chains give no reconstruction: an extra matmul, on a few rows.
            reconstruction = self._visible_mean(h_data[:_MONITORED_ROWS])
        else:
            logits_data = self._hidden_logits(v)
            h_data = ops.sigmoid(logits_data)
            h = self._bernoulli(h_data)
            for step in range(self.k):
                mean = self._visible_mean(h)
                if step == 0:
                    reconstruction = mean
                v_model = self._sample_visible(mean)
                logits_model = self._hidden_logits(v_model)
                h_model = ops.sigmoid(logits_model)
                if step < self.k - 1:
                    h = self._bernoulli(h_model)
            both = ops.concatenate([v, v_model], axis=0)
        return _Phase(
            both, h_data, logits_data, v_model, h_model, logits_model, reconstruction
        )

    def compute_gradients(self, v):
        """CD-k gradients (of the negative log-likelihood) for `v`, and the metrics.

        Args:
            v: A batch of visible data.

        Returns:
            `(grads, logs)`: a dict from variable path to gradient (kernel, hidden
            and visible biases) and a dict of metric values (per example, except
            the batch's `free_energy_gap`).
        """
        phase = self._negative_phase(v)
        h_data, v_model, h_model = phase.h_data, phase.v_model, phase.h_model
        dtype = v.dtype
        num_model = ops.cast(ops.shape(v_model)[0], dtype)
        num_data = ops.cast(ops.shape(v)[0], dtype)
        # One matmul for <v h>_data - <v h>_model.
        kernel_grad = ops.matmul(
            ops.transpose(phase.both),
            ops.concatenate([-h_data / num_data, h_model / num_model], axis=0),
        )
        if self.weight_decay:
            kernel_grad = kernel_grad + self.weight_decay * ops.cast(
                self.hidden.kernel, dtype
            )
        grads = {
            self.hidden.kernel.path: kernel_grad,
            self.hidden.bias.path: ops.mean(h_model, axis=0) - ops.mean(h_data, axis=0),
            self.visible_bias.path: ops.mean(v_model, axis=0) - ops.mean(v, axis=0),
        }
        data_logs = self._data_metrics(v, phase.logits_data)
        reconstruction = phase.reconstruction
        logs = {
            "reconstruction_error": ops.mean(
                ops.square(v[: ops.shape(reconstruction)[0]] - reconstruction), axis=-1
            ),
            "free_energy_gap": ops.mean(data_logs.pop("free_energy"))
            - ops.mean(self._free_energy(v_model, phase.logits_model)),
            **data_logs,
        }
        return grads, logs

    def _batch(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not self.built:  # TensorFlow builds at the first trace.
            self.build(x.shape)
        return ops.cast(x, self.variable_dtype)

    def _stateful_train_step(self, data):
        v = self._batch(data)
        grads, logs = self.compute_gradients(v)
        variables = self.trainable_variables
        self.apply_gradients([grads[w.path] for w in variables], variables)
        return self._update_trackers(logs)

    def _stateful_test_step(self, data):
        v = self._batch(data)
        logits = self._hidden_logits(v)
        logs = {
            "reconstruction_error": ops.mean(
                ops.square(v - self._visible_mean(ops.sigmoid(logits))), axis=-1
            ),
            **self._data_metrics(v, logits),
        }
        return self._update_trackers(logs)

    def _update_trackers(self, logs):
        trackers = {t.name: t for t in self.metrics}
        for name, value in logs.items():
            trackers[name].update_state(value)
        return {name: trackers[name].result() for name in logs}

    @property
    def metrics(self):
        return [
            self.reconstruction_error_tracker,
            self.free_energy_gap_tracker,
            self.free_energy_tracker,
            self.pseudo_log_likelihood_tracker,
        ]

    # Input checks and the user-facing methods.

    _guard_monitor = "reconstruction_error"
    _fit_as_batches = True

    def _check_inputs(self, x, name="x"):
        features = self.hidden.kernel.shape[0] if self.built else None
        return check_visible_data(x, name, self.visible, features)

    def _visible_tensor(self, x):
        """Checks `x`, builds the model if needed, returns a tensor."""
        x = np.asarray(self._check_inputs(x), dtype=self.variable_dtype)
        if not self.built:
            self.build(x.shape)
        return ops.convert_to_tensor(x)

    def transform(self, x, batch_size=256):
        """Hidden probabilities `p(h=1 | x)` as a NumPy array (the learned features)."""
        x = np.asarray(self._check_inputs(x), dtype=self.variable_dtype)
        return predict_here(self, x, batch_size)

    def score_samples(self, x):
        """Pseudo-log-likelihood of each example, as scikit-learn's
        `BernoulliRBM.score_samples` computes it.

        For each example one visible unit, drawn at random, is flipped, and the
        score is `features * log(sigmoid(F(x_flipped) - F(x)))` with `F` the free
        energy. The draw comes from the model's seed generator, like `gibbs`.

        Args:
            x: Visible data in [0, 1], shape `(batch, features)`: an array or a
                scipy.sparse matrix.

        Returns:
            The scores, shape `(batch,)`, as a NumPy array.

        Raises:
            ValueError: for Gaussian visible units (use `free_energy`).
        """
        if self.visible != "bernoulli":
            raise ValueError(
                "score_samples flips binary visible units, which this RBM "
                "(visible='gaussian') does not have: use free_energy(x) instead."
            )
        v = self._visible_tensor(x)
        logs = self._data_metrics(v, self._hidden_logits(v))
        return ops.convert_to_numpy(logs["pseudo_log_likelihood"])

    def free_energy(self, x):
        """Free energy `F(x) = -log sum_h exp(-E(x, h))` per example, as NumPy."""
        v = self._visible_tensor(x)
        return ops.convert_to_numpy(self._free_energy(v, self._hidden_logits(v)))

    def visible_from_hidden(self, h, mean=True):
        """Visible states given hidden states (or probabilities) `h`, as NumPy.

        Args:
            h: Hidden states, shape `(batch, units)`.
            mean: Return the conditional mean `E[v | h]` instead of a sample.
        """
        visible_mean = self._visible_mean(
            ops.convert_to_tensor(np.asarray(h), dtype=self.variable_dtype)
        )
        if mean:
            return ops.convert_to_numpy(visible_mean)
        return ops.convert_to_numpy(self._sample_visible(visible_mean))

    def gibbs(self, x, steps=1, mean=False):
        """Runs `steps` block Gibbs steps `v -> h -> v` from `x`.

        Args:
            x: Visible starting points, shape `(batch, features)`.
            steps: Positive integer, number of full Gibbs steps.
            mean: Return the conditional mean `E[v | h]` of the last step instead
                of a sample (smoother images).

        Returns:
            The visible states after `steps` steps, as a NumPy array.
        """
        steps = check_int("steps", steps)
        v = self._visible_tensor(x)
        for step in range(steps):
            h = self._bernoulli(ops.sigmoid(self._hidden_logits(v)))
            visible_mean = self._visible_mean(h)
            v = (
                visible_mean
                if mean and step == steps - 1
                else self._sample_visible(visible_mean)
            )
        return ops.convert_to_numpy(v)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "visible": self.visible,
            "k": self.k,
            "persistent": self.persistent,
            "num_chains": self.num_chains,
            "weight_decay": self.weight_decay,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "seed": self.seed,
        }
