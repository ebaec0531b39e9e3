"""Ghost Batch Normalization (Hoffer, Hubara & Soudry 2017)."""

import keras
from keras import ops

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.layers import _batch_checks


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class GhostBatchNormalization(keras.layers.Layer):
    """Batch normalization whose statistics come from small "ghost" batches.

    A large batch gives batch-norm statistics with much less noise than the
    small batches a model was tuned with, which is one source of the
    large-batch generalization gap. Ghost Batch Normalization splits each
    per-replica batch into ghost batches of `virtual_batch_size` consecutive
    examples and normalizes each with its own statistics, mimicking the
    small-batch regime without shrinking the batch the optimizer sees.

    **Training** (`training=True`). With the per-replica batch `x` of `B`
    examples cut into ghost batches `x_k` of `n_k = virtual_batch_size`
    consecutive examples, except that when `virtual_batch_size` does not
    divide `B` the last `B % virtual_batch_size` examples form a smaller
    last ghost batch (batch 10, ghost 4: ghosts of 4, 4 and 2 examples):

    ```
    mu_k    = mean(x_k)           over the ghost batch (and spatial axes)
    var_k   = mean((x_k - mu_k)^2)                  (biased, as in Keras BN)
    y_k     = gamma * (x_k - mu_k) / sqrt(var_k + epsilon) + beta
    ```

    Moving statistics are updated once per step from the ghost-batch
    statistics, each ghost batch weighted by its examples, over every ghost
    batch of every replica:

    ```
    moving_mean     = momentum * moving_mean
                      + (1 - momentum) * sum_k(n_k * mu_k) / sum_k(n_k)
    moving_variance = momentum * moving_variance
                      + (1 - momentum) * sum_k(n_k * var_k) / sum_k(n_k)
    ```

    When `virtual_batch_size` divides the batch every `n_k` is the same and
    the update is the plain mean over ghost batches, `mean_k(mu_k)` and
    `mean_k(var_k)`, computed exactly as without a remainder. A partial last
    batch of an epoch (`model.fit(x, y, batch_size=...)` on a dataset size
    the batch does not divide) therefore trains: on one device, its
    remainder is the smaller last ghost batch.

    The weighted mean of the `mu_k` equals the full-batch mean; that of the
    `var_k` is the average *within-ghost-batch* variance, the quantity
    training actually normalizes by (it is at most the full-batch variance). The moving statistics are
    created with `aggregation="mean"`, so under a `tf.distribute` strategy the
    update above is all-reduced across replicas and every replica holds the
    same moving statistics (Keras's own `BatchNormalization` keeps a
    per-replica copy that drifts apart). This single update per step equals
    `G` sequential updates with momentum `momentum ** (1 / G)` only to first
    order; it is the choice Keras 2's `virtual_batch_size` made too.

    **Inference** (`training=False`): the moving statistics normalize every
    example; nothing is ghost-batched, so any batch size works.

    When `virtual_batch_size` equals the per-replica batch size the layer
    computes exactly what `keras.layers.BatchNormalization` computes.

    Inputs of dtype float16/bfloat16 are normalized in float32 and the
    outputs cast to the layer's compute dtype; the moving statistics are
    float32 under every dtype policy (plain `"float16"`/`"bfloat16"` and
    `"mixed_*"` alike), while `gamma` and `beta` follow the policy's
    variable dtype.

    Args:
        virtual_batch_size: examples per ghost batch. A batch it does not
            divide ends with a smaller ghost batch of the remainder. Under a
            `tf.distribute` strategy with several replicas it must divide
            the per-replica batch size (the replicas' updates of the moving
            statistics are averaged with equal weight); a batch it does not
            divide raises an error there.
        axis: the feature (channel) axis, not 0. Default -1 (channels last).
        momentum: momentum of the moving statistics, in [0, 1). Default 0.99.
        epsilon: small float > 0 added to the variance. Default 1e-3.
        center: add the learned offset `beta`. Default True.
        scale: multiply by the learned scale `gamma`. Default True.
        beta_initializer: as in `keras.layers.BatchNormalization`.
        gamma_initializer: as in `keras.layers.BatchNormalization`.
        moving_mean_initializer: as in `keras.layers.BatchNormalization`.
        moving_variance_initializer: as in `keras.layers.BatchNormalization`.
        beta_regularizer: as in `keras.layers.BatchNormalization`.
        gamma_regularizer: as in `keras.layers.BatchNormalization`.
        beta_constraint: as in `keras.layers.BatchNormalization`.
        gamma_constraint: as in `keras.layers.BatchNormalization`.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch, ..., features)` (for `axis=-1`).
        training: ghost-batch statistics when True, moving statistics when
            False or None.

    Example:

        >>> layer = GhostBatchNormalization(virtual_batch_size=2)
        >>> x = np.array([[0.0], [2.0], [10.0], [30.0]], "float32")
        >>> # Ghost batches {0, 2} and {10, 30} are normalized separately:
        >>> np.round(keras.ops.convert_to_numpy(layer(x, training=True)), 2)
        array([[-1.],
               [ 1.],
               [-1.],
               [ 1.]], dtype=float32)

    References:
        Hoffer, Hubara & Soudry, "Train longer, generalize better: closing
        the generalization gap in large batch training of neural networks",
        NeurIPS 2017, section 4.2 and Algorithm 1 (Ghost Batch
        Normalization).
    """

    def __init__(
        self,
        virtual_batch_size,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("virtual_batch_size", virtual_batch_size)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(
                "Argument `axis` must be a single integer (the feature axis). "
                f"Received: axis={axis!r}"
            )
        if axis == 0:
            raise ValueError(
                "Argument `axis` cannot be 0, the batch axis that ghost "
                "batches are cut from. Received: axis=0"
            )
        if not 0.0 <= momentum < 1.0:
            raise ValueError(
                "Argument `momentum` must be in [0, 1). "
                f"Received: momentum={momentum}"
            )
        if not epsilon > 0.0:
            raise ValueError(
                f"Argument `epsilon` must be > 0. Received: epsilon={epsilon}"
            )
        self.virtual_batch_size = virtual_batch_size
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(
            moving_mean_initializer
        )
        self.moving_variance_initializer = keras.initializers.get(
            moving_variance_initializer
        )
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim < self.axis < ndim:
            raise ValueError(
                f"Argument `axis` ({self.axis}) is out of range for inputs of "
                f"rank {ndim}; valid values are 1..{ndim - 1} or "
                f"-{ndim - 1}..-1. Received: input_shape={input_shape}"
            )
        self._channel_axis = self.axis % ndim
        if self._channel_axis == 0:
            raise ValueError(
                f"Argument `axis` ({self.axis}) resolves to the batch axis 0 "
                f"for inputs of rank {ndim}. Received: axis={self.axis}"
            )
        features = input_shape[self._channel_axis]
        if features is None:
            raise ValueError(
                "The feature axis of GhostBatchNormalization inputs must have "
                f"a known size. Received: input_shape={input_shape}, "
                f"axis={self.axis}"
            )
        shape = (features,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                trainable=True,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                trainable=True,
                autocast=False,
            )
        # aggregation="mean": a replica-context assign is averaged over
        # replicas, keeping the moving statistics identical on every replica.
        # dtype="float32" whatever the policy: a plain "float16" or "bfloat16"
        # policy would otherwise give 16-bit variables, too coarse to
        # accumulate `(1 - momentum) * batch statistic` updates.
        self.moving_mean = self.add_weight(
            shape=shape,
            name="moving_mean",
            initializer=self.moving_mean_initializer,
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="mean",
        )
        self.moving_variance = self.add_weight(
            shape=shape,
            name="moving_variance",
            initializer=self.moving_variance_initializer,
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="mean",
        )
        # Broadcast shape of per-feature vectors against the *grouped* tensor
        # (ghost, virtual_batch, ...), whose feature axis is shifted by one.
        self._grouped_param_shape = [1] * (ndim + 1)
        self._grouped_param_shape[self._channel_axis + 1] = features
        self._grouped_reduction_axes = [1] + [
            i + 1 for i in range(1, ndim) if i != self._channel_axis
        ]
        self._inference_param_shape = [1] * ndim
        self._inference_param_shape[self._channel_axis] = features
        # Reduction axes of an ungrouped tensor (the smaller last ghost batch).
        self._reduction_axes = [
            i for i in range(ndim) if i != self._channel_axis
        ]

    def compute_output_shape(self, input_shape):
        return input_shape

    def _params(self, dtype, shape):
        gamma = (
            ops.reshape(ops.cast(self.gamma, dtype), shape)
            if self.scale
            else None
        )
        beta = (
            ops.reshape(ops.cast(self.beta, dtype), shape)
            if self.center
            else None
        )
        return gamma, beta

    def _normalize(self, x, mean, variance, gamma, beta):
        # y = x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps):
        # one multiply-add over the large tensor, the rest on small ones.
        inv = ops.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        return x * inv + shift

    def call(self, inputs, training=None):
        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = ops.cast(inputs, compute_dtype)
        if not (training and self.trainable):
            gamma, beta = self._params(compute_dtype, self._inference_param_shape)
            shape = self._inference_param_shape
            mean = ops.reshape(ops.cast(self.moving_mean, compute_dtype), shape)
            variance = ops.reshape(
                ops.cast(self.moving_variance, compute_dtype), shape
            )
            outputs = self._normalize(x, mean, variance, gamma, beta)
            return ops.cast(outputs, self.compute_dtype)

        size = self.virtual_batch_size
        x = _batch_checks.check_divisible_across_replicas(x, size, self.name)
        rows = x.shape[0]
        if rows is not None and rows % size == 0:
            statistics = self._whole_ghosts(x, compute_dtype)
        else:  # a remainder, or a batch unknown at trace time (TF graphs)
            statistics = self._with_remainder(x, compute_dtype)
        outputs, batch_mean, batch_variance = statistics
        self._update_moving_statistics(batch_mean, batch_variance)
        return ops.cast(outputs, self.compute_dtype)

    def _ghosts(self, x, dtype):
        """Normalizes `x`, whose rows are whole ghost batches, per ghost batch;
        returns the outputs and the ghost statistics, shaped (G, 1, ...)."""
        input_shape = ops.shape(x)
        grouped = ops.reshape(
            x, (-1, self.virtual_batch_size) + tuple(input_shape[1:])
        )
        mean, variance = ops.moments(
            grouped, axes=self._grouped_reduction_axes, keepdims=True
        )
        gamma, beta = self._params(dtype, self._grouped_param_shape)
        outputs = self._normalize(grouped, mean, variance, gamma, beta)
        return ops.reshape(outputs, input_shape), mean, variance

    def _whole_ghosts(self, x, dtype):
        """`virtual_batch_size` divides the batch: every ghost weighs alike,
        so the batch statistics are the plain means over ghost batches."""
        outputs, mean, variance = self._ghosts(x, dtype)
        features = self.moving_mean.shape
        batch_mean = ops.reshape(ops.mean(mean, axis=0), features)
        batch_variance = ops.reshape(ops.mean(variance, axis=0), features)
        return outputs, batch_mean, batch_variance

    def _with_remainder(self, x, dtype):
        """Whole ghost batches, then the last `rows % virtual_batch_size` rows
        as a smaller ghost batch normalized over its own rows; the batch
        statistics weight each ghost batch k by its rows n_k.

        `rows` may be a tensor (a TF graph with a None batch). The code then
        has no branch on it, so that XLA, which compiles every branch for
        the batch it sees, compiles it and its gradient for any batch (a
        `cond` fails there). With no remainder the head is the whole batch,
        the tail is empty, and the outputs and statistics are
        `_whole_ghosts(x)`'s, bit for bit.
        """
        size = self.virtual_batch_size
        rows = ops.shape(x)[0]
        remainder = rows % size
        whole = rows - remainder
        head, head_mean, head_variance = self._ghosts(x[:whole], dtype)
        tail = x[whole:]
        tail_mean, tail_variance = ops.moments(
            tail, axes=self._reduction_axes, keepdims=True
        )
        static = isinstance(remainder, int)  # then remainder > 0
        if not static:
            # An empty tail's moments are NaN, and 0 * NaN would reach the
            # gradients of gamma and beta: any finite stand-in will do.
            empty = ops.equal(remainder, 0)
            tail_mean = ops.where(empty, ops.zeros_like(tail_mean), tail_mean)
            tail_variance = ops.where(
                empty, ops.ones_like(tail_variance), tail_variance
            )
        gamma, beta = self._params(dtype, self._inference_param_shape)
        tail = self._normalize(tail, tail_mean, tail_variance, gamma, beta)
        outputs = ops.concatenate([head, tail], axis=0)
        features = self.moving_mean.shape
        n_tail, n_rows = ops.cast(remainder, dtype), ops.cast(rows, dtype)

        def weighted(ghost_statistic, tail_statistic):
            # sum_k n_k s_k / sum_k n_k: n_k = size, but n_tail for the last
            total = size * ops.reshape(ops.sum(ghost_statistic, axis=0), features)
            total = total + n_tail * ops.reshape(tail_statistic, features)
            total = total / n_rows
            if static:
                return total
            # No remainder: the plain mean over ghosts, as `_whole_ghosts`.
            plain = ops.reshape(ops.mean(ghost_statistic, axis=0), features)
            return ops.where(empty, plain, total)

        return (
            outputs,
            weighted(head_mean, tail_mean),
            weighted(head_variance, tail_variance),
        )

    def _update_moving_statistics(self, batch_mean, batch_variance):
        decay = 1.0 - self.momentum
        self.moving_mean.assign(
            self.moving_mean
            + (ops.cast(batch_mean, self.moving_mean.dtype) - self.moving_mean)
            * decay
        )
        self.moving_variance.assign(
            self.moving_variance
            + (
                ops.cast(batch_variance, self.moving_variance.dtype)
                - self.moving_variance
            )
            * decay
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "virtual_batch_size": self.virtual_batch_size,
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": keras.initializers.serialize(
                    self.beta_initializer
                ),
                "gamma_initializer": keras.initializers.serialize(
                    self.gamma_initializer
                ),
                "moving_mean_initializer": keras.initializers.serialize(
                    self.moving_mean_initializer
                ),
                "moving_variance_initializer": keras.initializers.serialize(
                    self.moving_variance_initializer
                ),
                "beta_regularizer": keras.regularizers.serialize(
                    self.beta_regularizer
                ),
                "gamma_regularizer": keras.regularizers.serialize(
                    self.gamma_regularizer
                ),
                "beta_constraint": keras.constraints.serialize(
                    self.beta_constraint
                ),
                "gamma_constraint": keras.constraints.serialize(
                    self.gamma_constraint
                ),
            }
        )
        return config
