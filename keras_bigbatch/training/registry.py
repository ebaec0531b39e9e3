"""Models, optimizers and losses by name, for recipes and the command line.

* models: `register_model(name)` over `builder(input_shape, num_classes, **args)`;
  the package's own (`mlp`, `keskar_f1`, `small_cnn`, `small_resnet`,
  `alexnet_bn`, `resnet50`) are registered here.
* optimizers: any name Keras resolves: Keras's own (`"sgd"`, `"lamb"`,
  `"adamw"`, ...), any registered class (`"keras_bigbatch>LARS"`), and the
  package's by snake-case name (`"lars"`, `"mclr"`, `"percent_delta"`,
  `"cblr"`). Arguments are checked against the class and Keras's base
  `Optimizer` (so `global_clipnorm`, `use_ema`, `loss_scale_factor`, ... are
  accepted).
* losses: `register_loss(name)`; `"sparse_categorical_crossentropy"`
  (with `label_smoothing`) is registered here.
"""

import inspect
import re

import keras

from keras_bigbatch import losses as losses_lib
from keras_bigbatch import models as models_lib
from keras_bigbatch import optimizers as optimizers_lib

_MODELS = {}
_LOSSES = {}


def _signature_arguments(function, skip=()):
    """Keyword arguments of `function` (with defaults), less `skip`."""
    return {
        p.name: p.default for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip
    }


def _check_arguments(kind, name, args, valid):
    unknown = sorted(set(args) - set(valid))
    if unknown:
        raise ValueError(
            f"{kind} {name!r} takes the arguments {sorted(valid)}; unknown: {unknown}. "
            f"Received: {args!r}"
        )


def _lookup(kind, table, name):
    if name not in table:
        raise ValueError(
            f"Argument `{kind}.name` must name a registered {kind}, one of "
            f"{sorted(table)}. Received: {kind}.name={name!r}"
        )
    return table[name]


def register_model(name):
    """Decorator: registers `builder(input_shape, num_classes, **args)` as `name`."""

    def decorate(builder):
        _MODELS[name] = builder
        return builder

    return decorate


def register_loss(name):
    """Decorator: registers `factory(**args) -> keras.losses.Loss` as `name`."""

    def decorate(factory):
        _LOSSES[name] = factory
        return factory

    return decorate


def model_names():
    return sorted(_MODELS)


def loss_names():
    return sorted(_LOSSES)


def model_arguments(name):
    """The arguments (and defaults) of model `name`, less shape and classes."""
    return _signature_arguments(_lookup("model", _MODELS, name), ("input_shape", "num_classes"))


def build_model(name, input_shape, num_classes, **args):
    """Builds model `name` (call inside `strategy.scope()`)."""
    _check_arguments("Model", name, args, model_arguments(name))
    return _MODELS[name](input_shape, num_classes, **args)


def loss_arguments(name):
    return _signature_arguments(_lookup("loss", _LOSSES, name))


def build_loss(name, **args):
    _check_arguments("Loss", name, args, loss_arguments(name))
    return _LOSSES[name](**args)


def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


def _optimizer_classes(module):
    """{snake_case name: class} of the optimizer classes a module exports."""
    wrappers = (keras.optimizers.LossScaleOptimizer, optimizers_lib.LayerwiseOptimizer,
                getattr(keras.optimizers, "MultiOptimizer", ()))
    return {
        _snake_case(name): obj for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, keras.optimizers.Optimizer)
        and obj.__init__ is not keras.optimizers.Optimizer.__init__
        and obj not in wrappers  # wrap another optimizer, or a base class
    }


# Keras's own by snake-case class name ("sgd", "adam_w", "lamb"), then ours.
_NAMED_OPTIMIZERS = {**_optimizer_classes(keras.optimizers), **_optimizer_classes(optimizers_lib)}


def optimizer_class(name):
    """The optimizer class for `name` (see the module docstring)."""
    if name in _NAMED_OPTIMIZERS:
        return _NAMED_OPTIMIZERS[name]
    registered = keras.saving.get_registered_object(name)
    if isinstance(registered, type) and issubclass(registered, keras.optimizers.Optimizer):
        return registered
    try:
        return type(keras.optimizers.get(name))
    except (ValueError, TypeError):
        raise ValueError(
            "Argument `optimizer.name` must be a Keras optimizer name (e.g. 'sgd', "
            "'adamw', 'lamb'), a registered class name (e.g. 'keras_bigbatch>LARS') "
            f"or one of {sorted(_NAMED_OPTIMIZERS)}. Received: optimizer.name={name!r}"
        ) from None


def optimizer_arguments(name):
    """Every keyword argument `name`'s class takes, its bases' included."""
    cls = optimizer_class(name)
    valid = {}
    for klass in reversed(cls.__mro__):  # Keras's base optimizer declares the common ones
        init = klass.__dict__.get("__init__")
        if init is not None:
            valid.update(_signature_arguments(init, ("self",)))
    return valid


def build_optimizer(name, learning_rate, **args):
    """Builds optimizer `name` (call inside `strategy.scope()`)."""
    _check_arguments("Optimizer", name, args, optimizer_arguments(name))
    return optimizer_class(name)(learning_rate=learning_rate, **args)


for _builder in (models_lib.mlp, models_lib.keskar_f1, models_lib.small_cnn,
                 models_lib.small_resnet, models_lib.alexnet_bn, models_lib.resnet50):
    register_model(_builder.__name__)(_builder)


@register_loss("sparse_categorical_crossentropy")
def _sparse_categorical_crossentropy(from_logits=True, label_smoothing=0.0):
    return losses_lib.SparseCategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=label_smoothing)
