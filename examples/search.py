"""A Keras Tuner search over the large-batch knobs of your own model, from Python.

```
python examples/search.py --tiny      # 2 trials of 1 epoch on 2,048 images (what CI runs)
python examples/search.py             # 10 trials of 3 epochs on Fashion-MNIST
```

The model is `examples/my_recipe.py`'s (`my_cnn`, registered there), on
the package's in-memory Fashion-MNIST source (a search holds out training
examples to score trials on, which the recipe's tf.data source cannot yet);
the recipe's run "LB" (LARS at a global batch of 1024, 256 in the smoke
size) is the starting point. The tuner searches
LARS's base learning rate (per 256 examples, scaled to the batch by the
linear rule), the warm-up and the ghost batch size; `my_cnn` takes
`normalization` and `virtual_batch_size`, so the `ghost_batch_size` knob
reaches it (0 = plain batch normalization). Trials never see the test split:
each is scored on `val_accuracy`, measured on training examples held out
for the search; the best trial's model is measured once on the test split.

The same search from the command line:

```
keras-bigbatch tune examples/my_recipe.py --size smoke --run LB --tuner random \
    --max-trials 2 --set data.source=fashion_mnist --set schedule.epochs=1 \
    --knob optimizer=lars --knob base_learning_rate=0.5:5 --knob ghost_batch_size=0,32
```
"""

import argparse
import os
import tempfile

import keras_bigbatch as kb

RECIPE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "my_recipe.py")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2 trials of 1 epoch (CI)")
    parser.add_argument("--output", help="the tuner's folder (default: a temporary one)")
    args = parser.parse_args()

    # The recipe file's "LB" run, as one resolved config (its model and source
    # are registered when the file is loaded).
    recipe = kb.training.load_recipe(RECIPE, "smoke" if args.tiny else "default")
    # Trials are scored on training examples held out, which needs an in-memory
    # source: the package's `fashion_mnist` (the same images, with the recipe's
    # `train_examples`) stands in for the recipe's tf.data one, which cannot
    # hold out a split yet.
    overrides = [("data.source", "fashion_mnist")]
    overrides += [("schedule.epochs", "1")] if args.tiny else []
    config = kb.training.run_configs(recipe, ["LB"], overrides)[0]

    # The knobs: each fixed (a value), a choice (a list) or a range (a tuple).
    knobs = {"optimizer": "lars", "base_learning_rate": (0.5, 5.0),
             "warmup_epochs": [0.0, 0.3], "ghost_batch_size": [0, 32]}
    hypermodel = kb.tuner.BigBatchHyperModel(config, knobs)
    directory = args.output or tempfile.mkdtemp(prefix="search-")
    tuner = kb.tuner.make_tuner("random", hypermodel, directory,
                                max_trials=2 if args.tiny else 10, seed=0)
    summary = kb.tuner.search(tuner, hypermodel)   # runs (or resumes) the trials
    print(kb.tuner.format_table(summary))
    print(f"{summary['completed']} trials completed in {summary['wall_time_s']:.0f} s; "
          f"trials in {directory}")


if __name__ == "__main__":
    main()
