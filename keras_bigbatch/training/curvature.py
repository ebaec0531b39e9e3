"""CurvatureModel: a training step that feeds CBLR its Hessian diagonal (TensorFlow)."""

import keras

from keras_bigbatch.optimizers.cblr import CBLR


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class CurvatureModel(keras.Model):
    """A Keras model whose `train_step` also estimates the Hessian diagonal.

    Each step, with Rademacher vectors `z` (one per trainable variable):

    ```
    g = dL/dw                     (inner tape)
    Hz = d(g . z)/dw              (outer tape: a Hessian-vector product)
    h ~ z * Hz                    (Hutchinson's diagonal estimate)
    optimizer.update_curvature(h); optimizer.apply(g)
    ```

    Build it from an existing model's graph:
    `CurvatureModel(model.inputs, model.outputs)`, then compile with
    `keras_bigbatch.optimizers.CBLR`. TensorFlow backend, one replica
    (see `CBLR`). Costs about two extra backward passes per step.
    """

    def compile(self, optimizer="rmsprop", *args, **kwargs):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "CurvatureModel needs the TensorFlow backend (nested gradient "
                f"tapes). Received: KERAS_BACKEND={keras.backend.backend()!r}"
            )
        import tensorflow as tf

        if tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            raise ValueError(
                "CurvatureModel/CBLR support one replica only; received a "
                f"strategy with {tf.distribute.get_strategy().num_replicas_in_sync} replicas."
            )
        super().compile(optimizer, *args, **kwargs)
        if not isinstance(self.optimizer, CBLR):
            raise ValueError(
                "CurvatureModel computes a Hessian diagonal for "
                "keras_bigbatch.optimizers.CBLR. "
                f"Received: optimizer={type(self.optimizer).__name__}"
            )

    def compile_from_config(self, config):
        """Restores the compile state from a `.keras` file (see `compile`)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            grads = inner.gradient(loss, variables)
            probes = [
                tf.cast(tf.random.uniform(tf.shape(v), 0, 2, dtype=tf.int32) * 2 - 1, v.dtype)
                for v in variables
            ]
            dot = tf.add_n([tf.reduce_sum(g * z) for g, z in zip(grads, probes) if g is not None])
        hessian_vector = outer.gradient(dot, variables)
        diagonals = [None if hv is None else z * hv for z, hv in zip(probes, hessian_vector)]
        self.optimizer.update_curvature(diagonals, variables)
        self.optimizer.apply(grads, variables)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _track_loss(self, loss, x):
        """Updates the `"loss"` metric the way Keras's own `train_step` does.

        Keras's `train_step` updates its private `self._loss_tracker` with
        the step's loss, weighted by the batch size (so the epoch's logged
        loss is the mean over examples, the last partial batch included);
        `compute_metrics` only updates the compiled metrics. The public way
        to reach that tracker is `self.metrics`, where it is the metric named
        `"loss"` (as in the Keras guide "Customizing what happens in
        `fit()`"). Keras also multiplies by the replica count first
        (`unscale_loss_for_distribution`); with the single replica
        `compile` allows, that factor is 1.
        """
        import tensorflow as tf

        first = next(i for i in keras.tree.flatten(x) if i is not None)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss, sample_weight=tf.shape(first)[0])
                return
