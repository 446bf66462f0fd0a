#!/usr/bin/env python3
"""Fits the rational tanh of src/kernels/activation.as.ts: tanh(a) ~ a P(a^2) / Q(a^2) on [0, 9],
P and Q of degree 4 in a^2 with P(0) = Q(0) = 1.

Method: g(a) = tanh(a) / a as P / Q; the linearised problem g Q - P = 0 solved by weighted least
squares on a dense grid, the weights divided by the last Q (so that the residual is P / Q's
relative error) and multiplied by each point's error after every round (Lawson's reweighting),
which drives the fit towards the smallest largest relative error. Needs numpy and mpmath (the
reference tanh); prints the coefficients of a^2, a^4, a^6, a^8 as the kernel's TANH_F lists them.
Not part of the build: the kernel holds the printed values.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
CAP = 9.0  # tanh(9) rounds to 1 in float32
DEGREE = 4


def fit(rounds=300):
    a = np.unique(np.concatenate([np.linspace(0, CAP, 30001)[1:], CAP * np.sin(np.linspace(0, np.pi / 2, 6001))[1:]]))
    g = np.array([float(mp.tanh(mp.mpf(x)) / mp.mpf(x)) for x in a])
    u = (a / CAP) ** 2  # the fit in u = (a / CAP)^2 in [0, 1], for conditioning
    weights = np.ones_like(a)
    q_last = np.ones_like(a)
    best = None
    for _ in range(rounds):
        # sum_k p_k u^k - g sum_k q_k u^k = g - 1 (k = 1..DEGREE)
        A = np.hstack([np.stack([u**k for k in range(1, DEGREE + 1)], 1), np.stack([-g * u**k for k in range(1, DEGREE + 1)], 1)])
        w = weights / (g * q_last)
        sol, *_ = np.linalg.lstsq(A * w[:, None], (g - 1) * w, rcond=None)
        p = np.concatenate([[1.0], sol[:DEGREE]])
        q = np.concatenate([[1.0], sol[DEGREE:]])
        P = np.polyval(p[::-1], u)
        Q = np.polyval(q[::-1], u)
        err = (P / Q - g) / g
        worst = np.abs(err).max()
        if best is None or worst < best[0]:
            best = (worst, p.copy(), q.copy())
        q_last = Q
        weights = weights * np.abs(err) / np.abs(err).mean() + 1e-12 * weights.max()
        weights /= weights.mean()
    worst, p, q = best
    scale = [CAP ** (-2 * k) for k in range(DEGREE + 1)]  # back to powers of a^2
    return worst, [p[k] * scale[k] for k in range(1, DEGREE + 1)], [q[k] * scale[k] for k in range(1, DEGREE + 1)]


if __name__ == '__main__':
    worst, p, q = fit()
    print(f'largest relative error in float64: {worst:.3g}')
    print('P:', ', '.join(f'{c:.9g}' for c in p))
    print('Q:', ', '.join(f'{c:.9g}' for c in q))
