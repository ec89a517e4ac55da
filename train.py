r"""Train the person-name tagger offline and export an artifact.

    python train.py --train ../shared/data/conll2003/train.conll \
                    --dev ../shared/data/conll2003/dev.conll --out artifacts/NAME

Same data + same seed + same flags = byte-identical artifact.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from dataclasses import fields
from pathlib import Path

from model import artifact, heads
from model.calibrate import fit_artifact
from model.data import DataError, read_corpus
from model.features import build_tables, load_name_lists
from model.network import Config
from model.training import TrainConfig, train

DEFAULT_NAMES = Path(__file__).resolve().parent.parent / "shared" / "data" / "names"


class _HelpFormat(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the usage example's line breaks and show every default."""


def parse_args(argv=None) -> argparse.Namespace:
    d = TrainConfig(Config(n_x=1))  # for the defaults; n_x comes from the feature tables
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormat)
    p.add_argument("--train", required=True, help="training corpus (CoNLL columns, or .jsonl)",
                   default=argparse.SUPPRESS)
    p.add_argument("--dev", required=True, help="dev corpus for early stopping (never the test set)",
                   default=argparse.SUPPRESS)
    p.add_argument("--out", required=True, help="artifact directory to write (replaced atomically)",
                   default=argparse.SUPPRESS)
    p.add_argument("--name", help="model name recorded in the artifact (default: --out's name)",
                   default=argparse.SUPPRESS)
    p.add_argument("--calibration-dev", nargs="+", metavar="FILE", default=argparse.SUPPRESS,
                   help="dev corpora to calibrate the scores on, one per domain, at most two "
                        "(default: --dev); see python -m model.calibrate")
    p.add_argument("--names-dir", default=str(DEFAULT_NAMES),
                   help="folder with census1990/ and ssa/ name lists; 'none' to train without them")
    p.add_argument("--n-a", type=int, default=d.network.n_a, help="hidden units per direction")
    p.add_argument("--head", choices=tuple(heads.HEADS), default=d.network.head,
                   help="softmax over O/B-PER/I-PER, or one sigmoid per token")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=d.network.bidirectional,
                   help="add a right-to-left RNN whose states join the forward ones")
    p.add_argument("--epochs", type=int, default=d.epochs, help="maximum epochs")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="sentences per minibatch")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--lr-decay", type=float, default=d.lr_decay, help="learning rate factor per epoch")
    p.add_argument("--clip", type=float, default=d.clip, help="clip gradients to this global norm")
    p.add_argument("--word-dropout", type=float, default=d.word_dropout,
                   help="probability of replacing a word id by <unk> during training")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout on the hidden states")
    p.add_argument("--patience", type=int, default=d.patience,
                   help="stop after this many epochs without a better dev F1")
    p.add_argument("--ema", type=float, default=d.ema,
                   help="keep an exponential moving average of the weights with this decay per step "
                        "and evaluate/export it (0 = off)")
    p.add_argument("--min-word", type=int, default=d.min_word, help="keep words seen at least this often")
    p.add_argument("--min-feature", type=int, default=d.min_feature, help="keep affix/shape values seen at least this often")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for flag in ("n_a", "epochs", "batch_size", "patience", "min_word", "min_feature"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    if len(getattr(args, "calibration_dev", ())) > 2:
        p.error("--calibration-dev takes one or two files")
    for flag in ("word_dropout", "dropout"):
        if not 0.0 <= getattr(args, flag) < 1.0:
            p.error(f"--{flag.replace('_', '-')} must be in [0, 1)")
    if args.lr <= 0 or args.clip <= 0 or not 0 < args.lr_decay <= 1 or not 0 <= args.ema < 1:
        p.error("--lr and --clip must be positive, --lr-decay in (0, 1], --ema in [0, 1)")
    return args


def train_config(args: argparse.Namespace, n_x: int) -> TrainConfig:
    """The run's TrainConfig: every field of it and of its network Config from its flag."""
    def given(cls, skip):
        return {f.name: getattr(args, f.name) for f in fields(cls) if f.name not in skip}
    return TrainConfig(Config(n_x=n_x, **given(Config, {"n_x"})), **given(TrainConfig, {"network"}))


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def learning_curve_png(history: list[dict]) -> bytes | None:
    """The per-epoch loss and dev F1 as a PNG, when matplotlib is installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [h["loss_per_token"] for h in history], "o-", label="train loss / token")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    ax2.plot(epochs, [h["dev"]["f1"] for h in history], "s-", color="tab:green", label="dev PER F1")
    ax2.set_ylabel("dev F1")
    fig.legend(loc="upper center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def main(argv=None) -> int:
    args = parse_args(argv)
    calibration_dev = getattr(args, "calibration_dev", [args.dev])
    try:
        for f in calibration_dev:  # fail before training, not after
            read_corpus(f)
        train_c, dev_c = read_corpus(args.train), read_corpus(args.dev)
        first, last = ({}, {}) if args.names_dir == "none" else load_name_lists(args.names_dir)
    except DataError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"train.py: error: name lists in {args.names_dir}: {e}", file=sys.stderr)
        return 2
    tables = build_tables(train_c.sentences, train_c.docs, first, last, args.min_word, args.min_feature)
    tc = train_config(args, tables.n_x)
    print(f"train: {len(train_c)} sentences, {train_c.n_tokens} tokens; dev: {len(dev_c)} sentences; "
          f"n_x = {tables.n_x}", file=sys.stderr)
    t0 = time.perf_counter()
    params, cfg, history = train(train_c, dev_c, tables, tc, progress=not args.no_progress,
                                 log=lambda s: print(s, file=sys.stderr))
    best = max(history, key=lambda h: h["dev"]["f1"])
    meta = {
        "name": getattr(args, 'name', None) or Path(args.out).name,
        "training": {"flags": tc.to_json(), "min_word": tc.min_word, "min_feature": tc.min_feature,
                     "names_lists": args.names_dir != "none",
                     "train_file": Path(args.train).name, "train_sha256": sha256(args.train),
                     "dev_file": Path(args.dev).name, "dev_sha256": sha256(args.dev)},
        "history": history,
        "metrics": {"dev": best["dev"], "best_epoch": best["epoch"]},
    }
    meta.update(fit_artifact(artifact.Artifact(params, cfg, tables, meta), calibration_dev,
                             log=lambda s: print(s, file=sys.stderr)))
    png = learning_curve_png(history)
    out = artifact.save(args.out, params, cfg, tables, meta,
                        extra_files={"learning_curve.png": png} if png else None)
    print(f"wrote {out} (best dev F1 {best['dev']['f1']:.4f} at epoch {best['epoch']}; "
          f"{time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
