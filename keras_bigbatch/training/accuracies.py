"""`Accuracies`: test and validation accuracy every few epochs, checkpointable."""

import keras


class Accuracies(keras.callbacks.Callback):
    """Adds accuracies (`test_accuracy`, `val_accuracy`) to the logs of every
    `every`-th and the last epoch; `datasets` maps each log key to its data."""

    def __init__(self, evaluate, datasets, every, epochs):
        super().__init__()
        self.evaluate, self.datasets = evaluate, dict(datasets)
        self.every, self.epochs = every, epochs
        self.epochs_measured = []
        self.accuracies = {key: [] for key in self.datasets}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            self.measure(epoch + 1, logs)

    def get_state(self):
        return {"epochs_measured": list(self.epochs_measured),
                "accuracies": {k: [float(a) for a in v] for k, v in self.accuracies.items()}}

    def set_state(self, state):
        self.epochs_measured = list(state["epochs_measured"])
        self.accuracies = {k: list(v) for k, v in state["accuracies"].items()}

    def last(self, key):
        """The latest `key` accuracy, or None if it is not measured."""
        return self.accuracies[key][-1] if self.accuracies.get(key) else None

    def measure(self, epochs_done, logs=None):
        self.epochs_measured.append(epochs_done)
        for key, dataset in self.datasets.items():
            accuracy = self.evaluate(dataset)
            self.accuracies[key].append(accuracy)
            if logs is not None:
                logs[key] = accuracy
