"""Reference Fréchet distance for FrechetDistanceTests, computed another way than ours.

Two correlated feature sets are drawn with numpy (seeded) and their Fréchet distance computed as pytorch-fid's
calculate_frechet_distance does (mseitzer/pytorch-fid, src/pytorch_fid/fid_score.py), except that the trace of
sqrtm(Σ₁Σ₂) comes from the eigenvalues of the non-symmetric product (np.linalg.eigvals; they are real and ≥ 0 up to
rounding) instead of scipy's sqrtm, which Debian's python3-torch does not bring. Prints JSON: the two sets and the distance.
"""
import json
import sys

import numpy as np

n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(20171206)  # Heusel et al.'s arXiv date: any fixed seed
a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
b = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.7 + rng.normal(size=d)
mu1, mu2 = a.mean(0), b.mean(0)
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
eig = np.linalg.eigvals(s1 @ s2)
trace_sqrt = np.sqrt(np.clip(eig.real, 0, None)).sum()
fd = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)
print(json.dumps({"a": a.tolist(), "b": b.tolist(), "fd": fd}))
