"""Numpy references of the layer-wise optimizers, written from the formulas.

Shared by the TensorFlow tests and the other-backend checks
(tests/backends/_backend_checks.py). Float64 throughout.
"""

import numpy as np


def lars_scale(w, g, wd, eps, trust_coefficient=0.001, clip_trust_ratio=False):
    # You et al. 2017: lam = eta ||w|| / (||g|| + beta ||w||); 1 if a norm is 0.
    w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
    lam = trust_coefficient * w_norm / (g_norm + wd * w_norm + eps) if w_norm > 0 and g_norm > 0 else 1.0
    return min(lam, 1.0) if clip_trust_ratio else lam


def mclr_scale(w, g, wd, eps):
    # Gao & Zhong eq. 22 on absolute values: R = med|w| / (med|g| + beta med|w|).
    w_med, g_med = np.median(np.abs(w)), np.median(np.abs(g))
    return w_med / (g_med + wd * w_med + eps) if w_med > 0 and g_med > 0 else 1.0


def percent_delta_scale(w, g, wd, eps):
    # Gao & Zhong eq. 24 over nonzero weights: P = n / (||g/w||_1 + n wd).
    nonzero = w != 0
    n = nonzero.sum()
    relative = np.abs(g[nonzero] / w[nonzero]).sum()
    return n / (relative + n * wd + eps) if n > 0 and relative > 0 else 1.0


SCALES = {"LARS": lars_scale, "MCLR": mclr_scale, "PercentDelta": percent_delta_scale}


def step(name, w, g, velocity, lr, momentum=0.0, nesterov=False, wd=0.0, eps=0.0,
         adapt=True, decay=True, **scale_kwargs):
    """One update of variable `w`; returns (new_w, new_velocity)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    wd = wd if decay else 0.0
    scale = SCALES[name](w, g, wd, eps, **scale_kwargs) if adapt else 1.0
    update = lr * scale * (g + wd * w)
    if momentum:
        velocity = momentum * velocity + update
        update = momentum * velocity + update if nesterov else velocity
    return w - update, velocity


def trajectory(name, weights, gradients_per_step, lr, adapt_flags, decay_flags, **kwargs):
    """Applies `step` to several variables over several steps."""
    weights = [np.asarray(w, np.float64) for w in weights]
    velocities = [np.zeros_like(w) for w in weights]
    for gradients in gradients_per_step:
        for i, g in enumerate(gradients):
            weights[i], velocities[i] = step(
                name, weights[i], g, velocities[i], lr,
                adapt=adapt_flags[i], decay=decay_flags[i], **kwargs)
    return weights
