"""Your own model in the trainer: `build(config, model=...)`, `fit(config, model)`.

```
model=None               the config's registered model (`model.name`)
model=keras.Model        that model, compiled by `build` with the config's
                         optimizer, schedule, loss and metrics
model=f                  f(config) -> keras.Model, called inside the engine's
                         scope (the variables are then the strategy's)
```

`fit` trains any compiled model: one `build` made from the config's
registered model, or yours (with the optimizer, loss and metrics it was
compiled with: the config's through `build`, your own otherwise; the run's
config still records the config's optimizer and schedule). A model from
`build(config, data=...)` trains on that data unless `fit` gets another. Yours is recorded in the run's config as
`{"name": model.name}` (`training.plan.own_sections`). Checked before the
first step: a compiled loss, and the data's example shape against the
model's input.
"""

import keras

# Set by `build` on the models it compiles: `(config's model name,
# registered)`, so that `fit` records the same model name as `build`; a
# model `build` did not make is the user's own, named by `model.name`.
_BUILT = "_keras_bigbatch_model"
_DATA = "_keras_bigbatch_data"  # the source `build` was given, for `fit`


def mark(model, name, registered, data=None):
    setattr(model, _BUILT, (name, registered))
    setattr(model, _DATA, data)


def built_data(model):
    """The `data` the model was built with by `build` (None: the config's source)."""
    return getattr(model, _DATA, None)


def is_own(model):
    """Whether `fit` trains a model `build` did not make from the registry."""
    return not getattr(model, _BUILT, (None, False))[1]


def label(model):
    """The name the run's config records for the user's `model` (a model or function)."""
    if isinstance(model, keras.Model):
        return getattr(model, _BUILT, (None,))[0] or model.name
    return getattr(model, "__name__", None) or type(model).__name__


def make(model, config, runtime):
    """The user's model: `model` itself or `model(config)` (call inside the scope).

    Raises:
        ValueError: the function does not return a `keras.Model`, or a model
            built outside a multi-replica tf.distribute strategy's scope.
    """
    if not isinstance(model, keras.Model):
        made = model(config)
        if not isinstance(made, keras.Model):
            raise ValueError(
                "Argument `model` must return a keras.Model when called with the config. "
                f"Received: {getattr(model, '__name__', model)!r} returned "
                f"{type(made).__name__}")
        return made
    check_scope(model, runtime)
    return model


def check_logits(model, loss):
    """Raises when the model ends in a softmax but the loss expects logits."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    from_logits = getattr(loss, "from_logits", False)
    if from_logits and getattr(last, "activation", None) is keras.activations.softmax:
        raise ValueError(
            f"Model {model.name!r} ends in a softmax, but the config's loss takes logits "
            "(from_logits=True): drop the last layer's softmax, or set "
            "`loss.from_logits=False`.")


def check_scope(model, runtime):
    """Raises when `model`'s variables are not the multi-replica strategy's."""
    if runtime.num_replicas > 1 and model.variables and not runtime.owns(model.variables[0]):
        raise ValueError(
            f"Argument `model` ({model.name!r}) was built outside the strategy's scope, so "
            f"its variables are not mirrored over the {runtime.num_replicas} replicas. Pass "
            "a function config -> keras.Model (the trainer calls it inside the scope), or "
            "build the model inside `strategy.scope()`.")


def check_compiled(model):
    """Raises unless `model` is compiled with a loss."""
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(
            f"Argument `model` ({model.name!r}) has no compiled loss: build it with "
            "`training.build(config, model=...)` (which compiles it with the config's "
            "optimizer, loss and metrics), or call `model.compile(optimizer, loss, metrics)` "
            "before `fit`.")


def check_inputs(model, source):
    """Raises when the data's examples do not fit the model's input (when both are known).

    Raises:
        ValueError: another rank or another size in a known dimension.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        return  # not built yet, or several inputs: Keras checks at the first batch
    expected = tuple(inputs[0].shape[1:])
    shape = tuple(source.example_shape())
    if len(expected) != len(shape) or any(
            e is not None and s is not None and e != s for e, s in zip(expected, shape)):
        raise ValueError(
            f"The data source {source.name!r} yields examples of shape {shape}, but model "
            f"{model.name!r} takes inputs of shape {expected} (without the batch dimension). "
            "Reshape the data in its pipeline, or give the model `keras.Input(shape="
            f"{shape})`.")
    classes = _classes(source)
    outputs = getattr(model, "outputs", None)
    if classes and outputs and len(outputs) == 1 and outputs[0].shape[-1] not in (None, 1):
        if outputs[0].shape[-1] < classes:
            raise ValueError(
                f"Model {model.name!r} outputs {outputs[0].shape[-1]} values per example, but "
                f"the data source {source.name!r} has {classes} classes: give the last layer "
                f"{classes} units.")


def _classes(source):
    try:
        return source.num_classes
    except (ValueError, NotImplementedError):
        return None
