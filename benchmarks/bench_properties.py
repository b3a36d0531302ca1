#!/usr/bin/env python
"""Benchmark property-space construction (not a test).

1. ADE20K space from ``descriptions/ade20k.json`` with the offline all-MiniLM-L6-v2:
   wall time and peak memory of model loading, embedding and clustering (K=256).
2. Scaling of the clustering step with 1k / 10k / 100k descriptions (random unit vectors,
   384-d, K=256): sklearn KMeans vs MiniBatchKMeans.

Peak memory is the process's peak resident set size during each phase (Linux: the high-water
mark is reset through /proc/self/clear_refs before each phase), and its growth over the RSS at
the start of the phase.

    OMP_NUM_THREADS=1 python benchmarks/bench_properties.py [--sizes 1000 10000 100000]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from _memory import measure  # benchmarks/ is the script's folder

REPO = Path(__file__).resolve().parents[1]


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    fmt = {float: '{:.2f}', int: '{:d}'}
    cells = [[fmt.get(type(r.get(c)), '{}').format(r.get(c, '')) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print(f'\n{title}')
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    print('  '.join('-' * w for w in widths))
    for row in cells:
        print('  '.join(v.ljust(w) for v, w in zip(row, widths)))


def bench_ade20k(path: Path, k: int, seed: int) -> list[dict]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    from prolab_seg.properties import build_property_space, embed_texts, load_descriptions
    from prolab_seg.properties.encoders import load_model

    categories = load_descriptions(path).categories
    texts = sorted({t for v in categories.values() for t in v})
    rows = []
    with measure({'phase': 'load model'}) as r:
        load_model()
    rows.append(r)
    with measure({'phase': f'embed {len(texts)} texts'}) as r:
        emb = embed_texts(texts, batch_size=64)
    rows.append(r)
    for name, km in (('KMeans (n_init=3)', KMeans(k, n_init=3, random_state=seed)),
                     ('MiniBatchKMeans (n_init=3)', MiniBatchKMeans(
                         k, n_init=3, random_state=seed, batch_size=min(4096, len(emb))))):
        with measure({'phase': f'cluster K={k}: {name}'}) as r:
            km.fit(emb)
        r['inertia/N'] = float(-km.score(emb) / len(emb))
        rows.append(r)
    with measure({'phase': 'build_property_space (total, model cached)'}) as r:
        build_property_space(categories, k, seed=seed)
    rows.append(r)
    return rows


def bench_scaling(sizes: list[int], k: int, dim: int, seed: int, max_iter: int) -> list[dict]:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        x = rng.standard_normal((n, dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        for name, km in (
                ('KMeans', KMeans(k, n_init=1, max_iter=max_iter, random_state=seed)),
                ('MiniBatchKMeans', MiniBatchKMeans(k, n_init=1, max_iter=max_iter,
                                                    batch_size=4096, random_state=seed))):
            with measure({'N': n, 'method': name}) as r:
                km.fit(x)
            r['iters'] = int(km.n_iter_)
            r['inertia/N'] = float(-km.score(x) / n)
            rows.append(r)
            print(f'  done N={n} {name}: {r["time_s"]:.1f}s', file=sys.stderr)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--descriptions', default=str(REPO / 'descriptions' / 'ade20k.json'))
    p.add_argument('--num-properties', '-k', type=int, default=256)
    p.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000, 100000])
    p.add_argument('--dim', type=int, default=384)
    p.add_argument('--max-iter', type=int, default=100,
                   help='k-means iterations cap (MiniBatchKMeans: epochs) for the scaling part')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()

    import prolab_seg  # noqa: F401
    import sklearn
    import torch
    print(f'CPU cores: {os.cpu_count()}, OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}, '
          f'torch threads: {torch.get_num_threads()}, sklearn {sklearn.__version__}; '
          f'faiss: not installed (not compared)')
    if Path(args.descriptions).exists():
        print_table(f'ADE20K property space ({args.descriptions}, K={args.num_properties})',
                    bench_ade20k(Path(args.descriptions), args.num_properties, args.seed),
                    ['phase', 'time_s', 'peak_mib', 'delta_mib', 'inertia/N'])
    else:
        print(f'{args.descriptions} not found: ADE20K part skipped')
    print_table(f'Clustering scaling: random unit vectors, dim {args.dim}, '
                f'K={args.num_properties}, n_init=1, max_iter={args.max_iter}',
                bench_scaling(args.sizes, args.num_properties, args.dim, args.seed,
                              args.max_iter),
                ['N', 'method', 'time_s', 'iters', 'peak_mib', 'delta_mib', 'inertia/N'])


if __name__ == '__main__':
    main()
