"""`--set KEY=VALUE` pairs: kept as text, in order, `--seed` last."""

import argparse

import pytest

from keras_bigbatch.cli import UsageError
from keras_bigbatch.cli.overrides import set_overrides


def test_pairs_keep_their_text_in_order():
    args = argparse.Namespace(overrides=["schedule.epochs=3", " data.dir =/a=b", "x="], seed=7)
    assert set_overrides(args) == [("schedule.epochs", "3"), ("data.dir", "/a=b"), ("x", ""),
                                   ("seed", "7")]


@pytest.mark.parametrize("item", ["epochs", "=3"])
def test_not_key_equals_value(item):
    with pytest.raises(UsageError, match="expected KEY=VALUE, e.g. --set schedule.epochs=3"):
        set_overrides(argparse.Namespace(overrides=[item], seed=None))
