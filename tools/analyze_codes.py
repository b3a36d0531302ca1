"""Per-class codeword entropy of a trained EQUSS model vs its per-class accuracy.

    python tools/analyze_codes.py CONFIG CHECKPOINT --out-dir DIR [--cfg-options k=v ...]

Runs the model over the test dataloader and writes to DIR:
  entropy.csv          class, pixels, entropy_bits, acc, IoU (Hungarian-matched clusters)
  codeword_freq.csv    class, codebook, codeword, count (the codeword-frequency table, non-zero)
  codeword_freq.npy    the same as a dense num_classes×M×K count array
  entropy_vs_acc.png   scatter of per-class entropy (bits) vs per-class accuracy
Entropy (EQUSS; not in its released code): for class c, the Shannon entropy in bits of the
codeword distribution of c's pixels in each codebook, summed over the M codebooks. Codes live
at feature resolution, so labels are nearest-downsampled to it; accuracy is at full resolution.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Iterable

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import prolab_seg  # noqa: F401  (registers modules)
from mmseg.registry import MODELS
from prolab_seg import apis, cli
from prolab_seg.properties.files import check_outputs
from prolab_seg.evaluation import class_code_entropy, cluster_metrics, codeword_histogram


def _numpy_cat(xs: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(xs).cpu().numpy()


@torch.no_grad()
def collect(model: torch.nn.Module, dataloader: Iterable[dict]) -> dict[str, np.ndarray]:
    """Run ``model`` (an ``EQUSSSegmentor``) over ``dataloader``.

    Returns:
        dict(codes N×M, code_labels N (feature resolution), pred P, gt P (full resolution)).
    """
    codes, code_labels, preds, gts = [], [], [], []
    for batch in dataloader:
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        enc = model.encode(inputs)
        gt = torch.stack([s.gt_sem_seg.data for s in samples]).float()  # B×1×H×W (padded)
        small = F.interpolate(gt, size=enc['codes'].shape[2:], mode='nearest').long()
        codes.append(enc['codes'].permute(0, 2, 3, 1).reshape(-1, enc['codes'].shape[1]))
        code_labels.append(small.reshape(-1))
        for s in model.predict(inputs, samples):
            preds.append(s.pred_sem_seg.data.reshape(-1))
            gts.append(s.gt_sem_seg.data.reshape(-1))
    return dict(codes=_numpy_cat(codes), code_labels=_numpy_cat(code_labels),
                pred=_numpy_cat(preds), gt=_numpy_cat(gts))


def analyze(data: dict[str, np.ndarray], num_codewords: int, num_clusters: int,
            class_names: list[str]) -> dict[str, np.ndarray]:
    """Codeword-frequency table, per-class entropy (bits) and Hungarian-matched accuracy/IoU."""
    c = len(class_names)
    hist = codeword_histogram(data['codes'], data['code_labels'], num_codewords, c)
    m = cluster_metrics(data['pred'], data['gt'], num_clusters, c)
    return dict(hist=hist, entropy=class_code_entropy(hist), acc=m['class_acc'], iou=m['IoU'],
                pixels=hist[:, 0].sum(-1))


REPORT_FILES = ('entropy.csv', 'codeword_freq.csv', 'codeword_freq.npy', 'entropy_vs_acc.png')


def write_report(result: dict[str, np.ndarray], class_names: list[str], out_dir: Path) -> None:
    """Write entropy.csv, codeword_freq.{csv,npy} and entropy_vs_acc.png into ``out_dir``."""
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / 'entropy.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['class', 'pixels', 'entropy_bits', 'acc', 'IoU'])
        for i, name in enumerate(class_names):
            w.writerow([name, int(result['pixels'][i]), f"{result['entropy'][i]:.4f}",
                        f"{result['acc'][i]:.4f}", f"{result['iou'][i]:.4f}"])
    hist = result['hist']
    np.save(out_dir / 'codeword_freq.npy', hist)
    with open(out_dir / 'codeword_freq.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['class', 'codebook', 'codeword', 'count'])
        for c, m, k in zip(*np.nonzero(hist)):
            w.writerow([class_names[c], m, k, int(hist[c, m, k])])
    present = np.isfinite(result['entropy']) & np.isfinite(result['acc'])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(result['entropy'][present], 100 * result['acc'][present])
    for i in np.flatnonzero(present):
        ax.annotate(class_names[i], (result['entropy'][i], 100 * result['acc'][i]), fontsize=7)
    ax.set_xlabel('per-class codeword entropy (bits, summed over codebooks)')
    ax.set_ylabel('per-class accuracy (%)')
    ax.set_title('EQUSS: entropy vs accuracy')
    fig.tight_layout()
    fig.savefig(out_dir / 'entropy_vs_acc.png', dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cli.add_debug_flag(parser)
    args = parser.parse_args(argv)
    check_outputs([Path(args.out_dir) / name for name in REPORT_FILES],
                  [args.config, args.checkpoint])
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    apis.load_weights(model, args.checkpoint)
    model.eval()
    if model.quantizer is None:
        raise SystemExit('error: the model has no quantizer, so there are no codes to analyze')
    dataloader = Runner.build_dataloader(cfg.test_dataloader)
    names = list(dataloader.dataset.metainfo['classes'])
    result = analyze(collect(model, dataloader), model.quantizer.num_codewords,
                     model.cluster_probe.centroids.shape[0], names)
    write_report(result, names, Path(args.out_dir))
    print(f"{'class':<16} {'pixels':>7} {'entropy':>8} {'acc':>6}")
    for i, name in enumerate(names):
        print(f"{name:<16} {int(result['pixels'][i]):>7} {result['entropy'][i]:>8.2f} "
              f"{100 * result['acc'][i]:>6.1f}")
    print(f'wrote {args.out_dir}/entropy.csv, codeword_freq.csv/.npy, entropy_vs_acc.png')


if __name__ == '__main__':
    sys.exit(cli.run(main))
