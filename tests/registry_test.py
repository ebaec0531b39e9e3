"""`Registry`: the one class that resolves sources, models, optimizers, losses and recipes."""

import inspect
import re

import pytest

from keras_bigbatch.registry import Entry
from keras_bigbatch.registry import Registry
from keras_bigbatch.registry import signature_arguments


def tiny(input_shape, num_classes, units=8, *, seed=None):
    return (input_shape, num_classes, units, seed)


def wide(input_shape, num_classes, units=64):
    return units


def models():
    return Registry("model", "model.name", skip=("input_shape", "num_classes"))


def test_register_by_decorator_and_by_call():
    registry = models()

    @registry.register("tiny")
    def decorated(input_shape, num_classes):
        return "tiny"

    assert registry.register("wide", wide) is wide
    assert registry.names() == ["tiny", "wide"] and list(registry) == ["tiny", "wide"]
    assert registry.lookup("tiny") is decorated and registry["wide"] is wide
    assert len(registry) == 2 and "tiny" in registry and "huge" not in registry
    assert registry.entry("wide") == Entry("wide", wide, {})


def test_names_are_sorted_and_the_table_is_a_mapping():
    registry = models()
    registry.register("wide", wide)
    registry["tiny"] = tiny                      # a mapping: set, get, delete
    assert registry.names() == ["tiny", "wide"] and list(registry) == ["wide", "tiny"]
    assert registry.get("tiny") is tiny and registry.get("huge") is None
    del registry["tiny"]
    assert registry.names() == ["wide"]
    assert repr(registry) == "Registry('model', ['wide'])"


def test_duplicate_registration():
    registry = models()
    registry.register("tiny", tiny)
    assert registry.register("tiny", tiny) is tiny  # the same value again: fine
    with pytest.raises(ValueError, match="A model named 'tiny' is already registered."):
        registry.register("tiny", wide)
    assert registry.lookup("tiny") is tiny             # the first one stays
    replacing = Registry("model", "model.name", replace=True)
    replacing.register("tiny", tiny)
    replacing.register("tiny", wide)
    assert replacing.lookup("tiny") is wide


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_name_is_a_non_empty_string(name):
    with pytest.raises(ValueError, match=re.escape(
            f"Argument `name` must be a non-empty string naming a model. Received: name={name!r}")):
        models().register(name, tiny)


def test_unknown_name_wording():
    registry = models()
    registry.register("wide", wide)
    registry.register("tiny", tiny)
    message = ("Argument `model.name` must name a registered model, one of ['tiny', 'wide']. "
               "Received: model.name='huge'")
    for call in (registry.lookup, registry.entry, registry.metadata, registry.arguments,
                 registry.build, lambda name: registry.check_arguments(name, {})):
        with pytest.raises(ValueError, match=re.escape(message)):
            call("huge")
    assert registry.unknown_name_message("huge") == message
    with pytest.raises(KeyError):  # the mapping raises as a dict does
        registry["huge"]


def test_unknown_name_wording_with_alternatives():
    recipes = Registry("recipe", "recipe", alternatives="or be the path of a recipe file")
    recipes.register("a", "pkg.a")
    assert recipes.unknown_name_message("b") == (
        "Argument `recipe` must name a registered recipe, one of ['a'], or be the path of a "
        "recipe file. Received: recipe='b'")


def test_arguments_from_the_signature():
    registry = models()
    registry.register("tiny", tiny)
    assert registry.arguments("tiny") == {"units": 8, "seed": None}  # less skip
    assert signature_arguments(tiny) == {
        "input_shape": inspect.Parameter.empty, "num_classes": inspect.Parameter.empty,
        "units": 8, "seed": None}

    def star(a, *args, b=1, **kwargs):
        return a

    assert signature_arguments(star) == {"a": inspect.Parameter.empty, "b": 1}


def test_arguments_from_a_given_function():
    registry = Registry("thing", "thing.name", arguments=lambda value: {"size": value})
    registry.register("three", 3)
    assert registry.arguments("three") == {"size": 3}


def test_unknown_arguments():
    registry = models()
    registry.register("tiny", tiny)
    registry.check_arguments("tiny", {"units": 4, "seed": 1})
    with pytest.raises(ValueError, match=re.escape(
            "Model 'tiny' takes the arguments ['seed', 'units']; unknown: ['depth', 'width']. "
            "Received: {'width': 2, 'depth': 3, 'units': 4}")):
        registry.check_arguments("tiny", {"width": 2, "depth": 3, "units": 4})
    sources = Registry("data source", "data.source")
    sources.register("ids", lambda n_train=8: n_train)
    with pytest.raises(ValueError, match=r"^Data source 'ids' takes the arguments \['n_train'\]"):
        sources.build("ids", n_test=2)


def test_build_checks_then_calls():
    registry = models()
    registry.register("tiny", tiny)
    assert registry.build("tiny", (4,), 10, units=2) == ((4,), 10, 2, None)
    with pytest.raises(ValueError, match=r"unknown: \['depth'\]"):
        registry.build("tiny", (4,), 10, depth=2)


def test_metadata():
    registry = Registry("optimizer", "optimizer.name")
    registry.register("plain", tiny)

    @registry.register("wrapped", wrap_model=list)
    def wrapped():
        return None

    assert registry.metadata("plain") == {}
    assert registry.metadata("wrapped") == {"wrap_model": list}
    assert registry.lookup("wrapped") is wrapped
    with pytest.raises(TypeError):  # read-only
        registry.metadata("wrapped")["wrap_model"] = tuple
    registry.register("plain", tiny, note="added")  # the same value with metadata: updated
    assert registry.metadata("plain") == {"note": "added"}


def test_fallback():
    known = {"sgd": wide}
    registry = Registry("optimizer", "optimizer.name", fallback=known.get,
                        alternatives="or a Keras optimizer name")
    registry.register("lars", tiny)
    assert registry.lookup("lars") is tiny and registry.lookup("sgd") is wide
    assert registry.arguments("sgd") == {"input_shape": inspect.Parameter.empty,
                                         "num_classes": inspect.Parameter.empty, "units": 64}
    assert registry.metadata("sgd") == {}
    assert registry.names() == ["lars"] and "sgd" not in registry   # the table only
    with pytest.raises(ValueError, match=re.escape(
            "one of ['lars'], or a Keras optimizer name. Received: optimizer.name='adam_x'")):
        registry.lookup("adam_x")


def test_a_registry_over_a_given_table():
    table = {}
    Registry("data source", "data.source", entries=table).register("ids", wide)
    assert Registry("data source", "data.source", entries=table).lookup("ids") is wide
    assert table == {"ids": Entry("ids", wide, {})}


def test_the_same_definition_run_again_replaces_its_entry():
    registry = Registry("thing", "thing")

    def make():
        return 1

    first = make
    registry.register("x", first)

    def make():  # noqa: F811 (a re-run cell: same module, same qualified name)
        return 2

    registry.register("x", make)
    assert registry.build("x") == 2
    with pytest.raises(ValueError, match="already registered"):
        registry.register("x", lambda: 3)
