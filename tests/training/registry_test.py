"""Models, optimizers and losses by name: the tables, Keras's names as the fallback, and
the model an optimizer trains (`prepare_model`)."""

import re

import keras
import pytest

from keras_bigbatch import optimizers
from keras_bigbatch.training import CurvatureModel
from keras_bigbatch.training import registry


def test_the_package_optimizers_are_an_explicit_table():
    assert registry.optimizer_names() == ["cblr", "lars", "mclr", "percent_delta"]
    assert registry.optimizer_class("lars") is optimizers.LARS
    assert registry.optimizer_class("percent_delta") is optimizers.PercentDelta


# ScheduleFreeAdamW came with Keras 3.11: a two-word class name where Keras has it
_SCHEDULE_FREE = getattr(keras.optimizers, "ScheduleFreeAdamW", None)


@pytest.mark.parametrize("name,cls", [
    ("sgd", keras.optimizers.SGD), ("lamb", keras.optimizers.Lamb),       # snake-case class names
    ("adamw", keras.optimizers.AdamW),
    ("rmsprop", keras.optimizers.RMSprop), ("Adam", keras.optimizers.Adam),
    ("keras_bigbatch>LARS", optimizers.LARS),                             # registered classes
] + ([("schedule_free_adamw", _SCHEDULE_FREE), ("schedulefreeadamw", _SCHEDULE_FREE)]
     if _SCHEDULE_FREE is not None else []))
def test_kerass_names_are_the_fallback(name, cls):
    assert registry.optimizer_class(name) is cls
    assert name not in registry.optimizer_names()


@pytest.mark.parametrize("name", ["adam_x", "loss_scale_optimizer", "layerwise_optimizer",
                                  "keras_bigbatch>LayerwiseOptimizer"])
def test_unknown_optimizer_names(name):
    with pytest.raises(ValueError, match=re.escape(
            "Argument `optimizer.name` must name a registered optimizer, one of "
            "['cblr', 'lars', 'mclr', 'percent_delta'], a Keras optimizer name (e.g. 'sgd', "
            f"'adamw', 'lamb') or a registered class name (e.g. 'keras_bigbatch>LARS'). "
            f"Received: optimizer.name={name!r}")):
        registry.optimizer_arguments(name)


def _model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs), name="tiny")


@pytest.mark.parametrize("name", ["cblr", "keras_bigbatch>CBLR"])
def test_cblr_trains_a_curvature_model(name):
    model = _model()
    wrapped = registry.prepare_model(name, model)
    assert isinstance(wrapped, CurvatureModel) and wrapped.name == "tiny"
    assert wrapped.layers[-1] is model.layers[-1]  # the same graph, the same weights


@pytest.mark.parametrize("name", ["sgd", "lars", "lamb", "keras_bigbatch>MCLR"])
def test_other_optimizers_train_the_model_itself(name):
    model = _model()
    assert registry.prepare_model(name, model) is model


def test_a_model_name_registered_again_is_replaced(monkeypatch):
    def linear(input_shape, num_classes, units=10):
        return units

    def other(input_shape, num_classes):
        return 0

    monkeypatch.setitem(registry._MODELS, "linear", linear)
    assert registry.model_arguments("linear") == {"units": 10}
    assert registry.build_model("linear", (3,), 2, units=4) == 4
    registry.register_model("linear")(other)
    assert registry.build_model("linear", (3,), 2) == 0
    with pytest.raises(ValueError, match=re.escape(
            "Model 'linear' takes the arguments []; unknown: ['units']. Received: {'units': 4}")):
        registry.build_model("linear", (3,), 2, units=4)
