"""A seconds-long recipe on scikit-learn's digits, for command-line tests."""


def get_config(size="default"):
    epochs = 3
    if size == "smoke":
        epochs = 2
    return {
        "name": "digits",
        "description": "digits, MLP 32 + GBN",
        "seed": 1,
        "data": {"source": "digits"},
        "model": {"name": "mlp", "hidden_units": (32,), "normalization": "ghost",
                  "virtual_batch_size": 16},
        "optimizer": {"name": "sgd", "momentum": 0.9},
        "schedule": {"batch_size": 64, "epochs": epochs, "learning_rate": 0.2},
        "evaluation": {"evaluations": 2, "distance_points": 8},
        "runs": [{"name": "A"}, {"name": "B", "schedule.learning_rate": 0.1}],
        "report": {"panels": ["test_accuracy", "distance", "train_loss"]},
        "expected": {"A": {"test_accuracy": (0.8, 1.0)}, "B": {"test_accuracy": (0.8, 1.0)}},
    }
