"""Results tables, JSON and the paper-style plot of a recipe's runs."""

import io
import json
import math

from keras_bigbatch.checkpoint import files

_COLUMNS = (  # (heading, result key, format spec)
    ("run", "name", ""),
    ("test acc", "test_accuracy", ".2%"),
    ("train acc", "train_accuracy", ".2%"),
    ("batch", "global_batch_size", ""),
    ("updates", "updates", ""),
    ("epochs", "epochs", ""),
    ("wall s", "wall_time_s", ".0f"),
)


def format_value(value, spec=""):
    """`format(value, spec)`, or "n/a" where the value is missing (None) or
    undefined (nan: a slope of a run too short to have one)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec)


def format_table(results):
    """A plain-text table with one row per run ("n/a" where a value is missing)."""
    rows = [[head for head, _, _ in _COLUMNS]]
    for result in results:
        rows.append([format_value(result.get(key), spec) for _, key, spec in _COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if i else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _atomic_write(path, write):
    """Writes via `write(stream)`, then `files.write_atomically`: never a
    half-written file. Local paths and any `tf.io.gfile` path (`gs://`)."""
    buffer = io.BytesIO()
    write(buffer)
    files.write_atomically(path, buffer.getvalue())


def write_history(path, result):
    """Writes one run's Keras History and curves as JSON (atomically)."""
    write_json(path, {key: result[key] for key in ("name", "history", "curve", "distance")})


def write_json(path, payload):
    """Writes JSON atomically (never a half-written file)."""
    text = json.dumps(payload, indent=2).encode()
    _atomic_write(path, lambda stream: stream.write(text))


def _panel_test_accuracy(axis, results):
    for result in results:
        curve = result["curve"]
        axis.plot(curve["updates"], [100 * a for a in curve["test_accuracy"]],
                  marker="o", markersize=3, label=result["name"])
    axis.set_xscale("log")
    axis.set_xlabel("updates (log scale)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Test accuracy vs updates")


def _panel_distance(axis, results):
    for result in results:
        pairs = [(s, d) for s, d in zip(result["distance"]["updates"],
                                        result["distance"]["distance"]) if s > 0]
        if pairs:
            axis.plot(*zip(*pairs), label=result["name"])
    axis.set_xscale("log")
    axis.set_xlabel("updates t (log scale)")
    axis.set_ylabel("||w_t - w_0||")
    axis.set_title("Distance from initialization vs log(t)")


def _panel_train_loss(axis, results):
    for result in results:
        losses = result["history"].get("loss", [])
        axis.plot(range(1, len(losses) + 1), losses, label=result["name"])
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss")
    axis.set_title("Training loss vs epochs")


# Panels a recipe may declare in `report.panels`.
PANELS = {
    "test_accuracy": _panel_test_accuracy,
    "distance": _panel_distance,
    "train_loss": _panel_train_loss,
}


def check_panels(panels):
    """Raises `ValueError` unless every name in `panels` is in `PANELS`."""
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise ValueError(
            f"Argument `report.panels` must name one or more of {sorted(PANELS)}. "
            f"Received: report.panels={list(panels)!r}"
        )
    return list(panels)


def plot(path, results, panels=("test_accuracy",), title=""):
    """The recipe's panels side by side, written to a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = check_panels(panels)
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        PANELS[panel](axis, results)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=110))
    plt.close(figure)


def check_expected(results, expected):
    """Compares results with a recipe's `expected` block.

    Args:
        results: the runs' result dicts.
        expected: `{run name: {result key: (low, high)}}`.

    Returns:
        One dict per checked value: `run`, `key`, `value`, `low`, `high`,
        `ok` (low <= value <= high). Runs that were not run are skipped.
    """
    by_name = {result["name"]: result for result in results}
    checks = []
    for name, bounds in expected.items():
        if name not in by_name:
            continue
        for key, (low, high) in bounds.items():
            value = by_name[name][key]
            checks.append({"run": name, "key": key, "value": value, "low": low,
                           "high": high, "ok": value is not None and low <= value <= high})
    return checks


def format_checks(checks):
    """One line per expected value: run, key, value, range and verdict."""
    return "\n".join(
        f"  {'ok  ' if c['ok'] else 'MISS'} {c['run']} {c['key']} = {c['value']:.4f} "
        f"(expected {c['low']:g} .. {c['high']:g})"
        for c in checks
    )


def log_slope(result):
    """Least-squares slope of distance against ln(updates) (updates >= 10); nan if unrecorded."""
    pairs = [(math.log(s), d) for s, d in zip(result["distance"]["updates"],
                                             result["distance"]["distance"]) if s >= 10]
    if len(pairs) < 2:
        return float("nan")
    n = len(pairs)
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx if sxx else float("nan")
