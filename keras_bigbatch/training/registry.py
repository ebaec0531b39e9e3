"""Models, optimizers and losses by name, for recipes and the command line.

Each is a `keras_bigbatch.registry.Registry`:

* `MODELS`: `register_model(name)` over `builder(input_shape, num_classes, **args)`;
  the package's own (`mlp`, `keskar_f1`, `small_cnn`, `small_resnet`,
  `alexnet_bn`, `resnet50`) are registered here.
* `OPTIMIZERS`: the package's (`"lars"`, `"mclr"`, `"percent_delta"`,
  `"cblr"`), then any name Keras resolves: Keras's own by class name in
  snake case or as `keras.optimizers.get` takes it (`"sgd"`, `"lamb"`,
  `"adamw"`, ...) and any registered class (`"keras_bigbatch>LARS"`).
  Arguments are checked against the class and Keras's base `Optimizer` (so
  `global_clipnorm`, `use_ema`, `loss_scale_factor`, ... are accepted). An
  entry may carry `wrap_model`, the model its optimizer trains
  (`prepare_model`): CBLR's is a `CurvatureModel`.
* `LOSSES`: `register_loss(name)`; `"sparse_categorical_crossentropy"`
  (with `label_smoothing`) is registered here.
"""

import re

import keras

from keras_bigbatch import losses as losses_lib
from keras_bigbatch import models as models_lib
from keras_bigbatch import optimizers as optimizers_lib
from keras_bigbatch.registry import Registry
from keras_bigbatch.registry import signature_arguments
from keras_bigbatch.training.curvature import CurvatureModel

# Registering a taken model or loss name replaces it (as a notebook cell run
# again does); a data source's raises unless it is the same definition run
# again (see `data.register_source`).
MODELS = Registry("model", "model.name", skip=("input_shape", "num_classes"), replace=True)
LOSSES = Registry("loss", "loss.name", replace=True)
_MODELS = MODELS  # the table's former name (tests patch it)


def register_model(name):
    """Decorator: registers `builder(input_shape, num_classes, **args)` as `name`."""
    return MODELS.register(name)


def register_loss(name):
    """Decorator: registers `factory(**args) -> keras.losses.Loss` as `name`."""
    return LOSSES.register(name)


def model_names():
    return MODELS.names()


def loss_names():
    return LOSSES.names()


def model_arguments(name):
    """The arguments (and defaults) of model `name`, less shape and classes."""
    return MODELS.arguments(name)


def build_model(name, input_shape, num_classes, **args):
    """Builds model `name` (call inside `strategy.scope()`)."""
    return MODELS.build(name, input_shape, num_classes, **args)


def loss_arguments(name):
    return LOSSES.arguments(name)


def build_loss(name, **args):
    return LOSSES.build(name, **args)


# Optimizers.

def _snake_case(name):
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


def _keras_optimizer_classes():
    """{snake_case name: class} of Keras's own optimizers ("sgd", "adam_w", "lamb")."""
    wrappers = (keras.optimizers.LossScaleOptimizer, getattr(keras.optimizers, "MultiOptimizer", ()))
    return {
        _snake_case(name): obj for name, obj in vars(keras.optimizers).items()
        if isinstance(obj, type) and issubclass(obj, keras.optimizers.Optimizer)
        and obj.__init__ is not keras.optimizers.Optimizer.__init__
        and obj not in wrappers  # wrap another optimizer, or a base class
    }


_KERAS_OPTIMIZERS = _keras_optimizer_classes()


def _keras_optimizer(name):
    """The class Keras resolves `name` to (see the module docstring), or None."""
    if name in _KERAS_OPTIMIZERS:
        return _KERAS_OPTIMIZERS[name]
    registered = keras.saving.get_registered_object(name)
    if isinstance(registered, type) and issubclass(registered, keras.optimizers.Optimizer):
        return registered
    try:
        return type(keras.optimizers.get(name))
    except (ValueError, TypeError):
        return None


def _class_arguments(cls):
    """Every keyword argument `cls` takes, its bases' included."""
    valid = {}
    for klass in reversed(cls.__mro__):  # Keras's base optimizer declares the common ones
        init = klass.__dict__.get("__init__")
        if init is not None:
            valid.update(signature_arguments(init, ("self",)))
    return valid


def _curvature_model(model):
    """`model`'s graph as a `CurvatureModel`, which feeds CBLR its Hessian diagonal."""
    return CurvatureModel(model.inputs, model.outputs, name=model.name)


OPTIMIZERS = Registry(
    "optimizer", "optimizer.name", arguments=_class_arguments, fallback=_keras_optimizer,
    alternatives=("a Keras optimizer name (e.g. 'sgd', 'adamw', 'lamb') or a registered "
                  "class name (e.g. 'keras_bigbatch>LARS')"))
OPTIMIZERS.register("lars", optimizers_lib.LARS)
OPTIMIZERS.register("mclr", optimizers_lib.MCLR)
OPTIMIZERS.register("percent_delta", optimizers_lib.PercentDelta)
OPTIMIZERS.register("cblr", optimizers_lib.CBLR, wrap_model=_curvature_model)


def optimizer_names():
    """The package's optimizer names, sorted (Keras's own are accepted too)."""
    return OPTIMIZERS.names()


def optimizer_class(name):
    """The optimizer class for `name` (see the module docstring)."""
    return OPTIMIZERS.lookup(name)


def optimizer_arguments(name):
    """Every keyword argument `name`'s class takes, its bases' included."""
    return OPTIMIZERS.arguments(name)


def build_optimizer(name, learning_rate, **args):
    """Builds optimizer `name` (call inside `strategy.scope()`)."""
    OPTIMIZERS.check_arguments(name, args)
    return optimizer_class(name)(learning_rate=learning_rate, **args)


def prepare_model(optimizer_name, model):
    """The model that optimizer `optimizer_name` trains: `model`, or its entry's wrapper.

    An optimizer whose class is (a subclass of) one carrying `wrap_model`
    trains `wrap_model(model)`: CBLR (`"cblr"`, `"keras_bigbatch>CBLR"`)
    trains a `CurvatureModel` over `model`'s graph. Every other optimizer
    trains `model` itself. Call inside `strategy.scope()`, before `compile`.
    """
    cls = optimizer_class(optimizer_name)
    for name, base in OPTIMIZERS.items():
        wrap_model = OPTIMIZERS.metadata(name).get("wrap_model")
        if wrap_model is not None and issubclass(cls, base):
            return wrap_model(model)
    return model


def wraps_model(optimizer_name):
    """True when `optimizer_name` trains a wrapper with its own train step
    (`prepare_model`; CBLR's `CurvatureModel`)."""
    cls = optimizer_class(optimizer_name)
    return any(OPTIMIZERS.metadata(name).get("wrap_model") is not None and issubclass(cls, base)
               for name, base in OPTIMIZERS.items())


for _builder in (models_lib.mlp, models_lib.keskar_f1, models_lib.small_cnn,
                 models_lib.small_resnet, models_lib.alexnet_bn, models_lib.resnet50):
    register_model(_builder.__name__)(_builder)


@register_loss("sparse_categorical_crossentropy")
def _sparse_categorical_crossentropy(from_logits=True, label_smoothing=0.0):
    return losses_lib.SparseCategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=label_smoothing)
