"""nametag tag INPUT... -o OUTPUT: find people's names in files, on one core,
all cores (--workers N) or a Dask cluster (--scheduler tcp://HOST:8786).
nametag train --train FILE... (--dev FILE... | --dev-split SHARE) --out DIR: train
a model on your own annotations, or fine-tune one (--from DIR).
``nametag restore INPUT... -o OUTPUT``: put the names back into pseudonymised texts
(``bulk.restore``).

``nametag keys new NAME``: a new API key for the service, printed once, with the
line that accepts it in the service's NAMETAG_API_KEYS_FILE.

Exit status: 0 done; 2 bad usage, a missing or unreadable input, an unreadable
artifact, an unknown format, an entity type the model does not find (--entities),
or (with --strict) a malformed line. The output
appears only when the run is complete: it is written to a temporary file beside
it and renamed.
"""
from __future__ import annotations

from model.threads import pin_threads, thread_env

# One BLAS/OpenMP thread, as in the service: --workers fills the cores with processes.
pin_threads(1)  # before numpy loads (the imports below)

import argparse  # noqa: E402
import os  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from model.artifact import ArtifactError, load  # noqa: E402
from model.redact import DEFAULT_MASK_CHAR, DEFAULT_REPLACEMENT, OPERATORS, Operator, RedactError, hash_key  # noqa: E402
from model import apikeys  # noqa: E402
from model.names import check_entities  # noqa: E402
from model.restore import DEFAULT_TTL_S, Sealer, restore_key, ttl_seconds  # noqa: E402

from .formats import OUTPUT_FORMATS, Lists, format_of  # noqa: E402
from .run import DEFAULT_BLOCKSIZE, InputError, run_cluster, run_local, sources  # noqa: E402
from .tagging import Options, tagger, warm  # noqa: E402

EXIT_USAGE = 2
# LocalCluster workers: one BLAS thread, as dask sets by default, but without the 10 ms
# statistical profiler and without MALLOC_TRIM_THRESHOLD_, which stops glibc from raising
# its mmap threshold, so every large NumPy temporary is mmap'd and zeroed afresh: each
# cost the workers CPU that one process does not spend. Their HTTP servers answer health
# checks only: Dask's Prometheus route would import prometheus_client into every worker.
LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.http.routes": ["distributed.http.health"],
    "distributed.nanny.http.routes": ["distributed.http.health"],
    "distributed.nanny.pre-spawn-environ": thread_env(1),
}


class Fatal(Exception):
    """Stops the run with one line on standard error and exit status 2."""


def parse_size(text: str) -> int:
    from dask.utils import parse_bytes
    try:
        return int(parse_bytes(text))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1MiB, 500kB)") from None


def entity_types(text: str) -> tuple[str, ...]:
    """--entities PER,LOC -> ("PER", "LOC"): comma-separated, each once, in the order given."""
    types = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not types:
        raise argparse.ArgumentTypeError(f"no entity type in {text!r} (e.g. PER or PER,LOC)")
    return types


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nametag", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("train", add_help=False,
                   help="train a model on your annotations (CoNLL or JSONL), or fine-tune one with --from "
                        "(see nametag train --help)")
    p = sub.add_parser("tag", help="tag files: JSONL, text or CoNLL in; JSONL or CoNLL out")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help=".jsonl, .txt or .conll file, a directory of them, or - for standard input")
    p.add_argument("-o", "--output", required=True, help="output file (.jsonl or .conll), or - for stdout")
    p.add_argument("--format", choices=("jsonl", "conll"), help="output format (default: by extension)")
    p.add_argument("--input-format", choices=("jsonl", "txt", "conll"),
                   help="input format (default: by extension; txt for standard input)")
    p.add_argument("--text-key", default="text", help="the JSONL key holding the text (default: text)")
    p.add_argument("--tokens", action="store_true", help="JSONL output: add the tokens and their labels")
    p.add_argument("--redact", choices=OPERATORS, metavar="OPERATOR",
                   help="JSONL out with the names taken out of the text: replace, mask, pseudonym or "
                        "hash (its HMAC key from NAMETAG_REDACT_KEY), as POST /redact")
    p.add_argument("--restorable", action="store_true",
                   help="--redact pseudonym: write each record's restore_token beside it, sealed under "
                        "NAMETAG_RESTORE_KEY as POST /redact with restorable (see nametag restore)")
    p.add_argument("--replacement", default=None,
                   help=f"--redact replace: what a name becomes (default: its type, {DEFAULT_REPLACEMENT} "
                        f"for a person, [LOC], [ORG], ... for the other types)")
    p.add_argument("--mask-char", default=DEFAULT_MASK_CHAR,
                   help=f"--redact mask: the character (default: {DEFAULT_MASK_CHAR})")
    p.add_argument("--allow", action="append", default=[], metavar="NAME",
                   help="never report or redact this name (case-insensitive; repeat the flag for more); "
                        "JSONL output, as allow_list in POST /tag and /redact")
    p.add_argument("--deny", action="append", default=[], metavar="NAME",
                   help="always report or redact this name where it occurs as a whole word; JSONL output")
    p.add_argument("--entities", type=entity_types, metavar="TYPES",
                   help="report or redact only these entity types, comma-separated, e.g. PER,LOC (default: "
                        "every type the model finds, PER for the default model), as entities in POST /tag "
                        "and /redact; CoNLL output writes the other types' tags as O. A type the model "
                        "does not find is an error naming its types")
    p.add_argument("--artifact", default=Options._field_defaults["artifact"],
                   help="model artifact directory (default: the shipped model)")
    p.add_argument("--strict", action="store_true", help="a malformed line is an error (exit 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--blocksize", type=parse_size, default=DEFAULT_BLOCKSIZE,
                   help="bytes of input per block, the unit of work (default: 256KiB)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="start a Dask LocalCluster of N worker processes on this machine")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="use a running Dask cluster (tcp://HOST:8786); paths may be fsspec URLs")
    p.add_argument("--stats", metavar="FILE", help="also write the run's figures as JSON (for the bench)")
    r = sub.add_parser("restore", help="put the names back: JSONL of texts and restore tokens in, JSONL out",
                       description=restore_doc(), formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("inputs", nargs="+", metavar="INPUT", help=".jsonl file, or - for standard input")
    r.add_argument("-o", "--output", required=True, help="output .jsonl file, or - for stdout")
    r.add_argument("--text-key", default="text", help="the key holding the text (default: text)")
    r.add_argument("--token-key", default="restore_token",
                   help="the key holding its restore token (default: restore_token)")
    r.add_argument("--strict", action="store_true", help="a malformed line or a bad token is an error (exit 2)")
    k = sub.add_parser("keys", help="API keys for the service (its NAMETAG_API_KEYS_FILE)")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    new = ksub.add_parser("new", help="a new random key, printed once, and the line that accepts it")
    new.add_argument("name", metavar="NAME", help="who the key is for: 1-64 letters, digits, '.', '_' or '-' "
                                                  "(shown in the service's metrics, logs and rate-limit counts)")
    return ap


def restore_doc() -> str:
    from . import restore
    return restore.__doc__


def new_key(args) -> int:
    key = apikeys.new_key()
    line = apikeys.file_line(key, args.name)  # ValueError on a bad name
    print(f"New API key for {args.name} (shown only this once: give it to the client; it cannot be shown again):\n"
          f"{key}\n"
          f"Add this line to the service's NAMETAG_API_KEYS_FILE (the key's sha256, not the key):\n"
          f"{line}")
    return 0


@contextmanager
def atomic_output(path: str):
    """A binary file that becomes `path` only if the block exits normally."""
    if path == "-":
        yield sys.stdout.buffer
        return
    import fsspec
    fs, p = fsspec.core.url_to_fs(path)
    parent, name = os.path.split(p)
    if parent and not fs.isdir(parent):
        raise Fatal(f"{path}: cannot write: no such directory {parent}")
    tmp = os.path.join(parent, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with fs.open(tmp, "wb") as fh:
            yield fh
        fs.mv(tmp, p)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM; getrusage's ru_maxrss would carry
    over the high-water mark of the process that forked and exec'd us)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


class Progress:
    """The tqdm bar on standard error (bytes for the ETA; records and tokens/s beside it)."""

    def __init__(self, total: int | None, quiet: bool):
        from tqdm import tqdm
        self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                        disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True, leave=False)
        self.start, self.records, self.tokens = time.perf_counter(), 0, 0

    def count(self, records: int, tokens: int) -> None:
        self.records, self.tokens = self.records + records, self.tokens + tokens
        rate = self.tokens / max(time.perf_counter() - self.start, 1e-9)
        self.bar.set_postfix_str(f"{self.records:,} records, {rate:,.0f} tokens/s", refresh=False)

    def write(self, line: str) -> None:
        self.bar.write(line, file=sys.stderr)


def redaction(args, out_format: str) -> Operator | None:
    """--redact's operator (RedactError, a ValueError, when it cannot run)."""
    if args.redact is None:
        return None
    if out_format != "jsonl":
        raise Fatal("--redact writes JSONL (the redacted text); give a .jsonl output or --format jsonl")
    try:
        key = hash_key(os.environ.get("NAMETAG_REDACT_KEY") or None)
    except RedactError as e:
        raise Fatal(f"NAMETAG_REDACT_KEY: {e}") from None
    return Operator(args.redact, args.replacement, args.mask_char, key)


def sealer(need: str) -> Sealer:
    """The restore keys from the environment, as the service reads them (Fatal, naming the
    variable but never its value, when missing or bad). need: what asks for it."""
    try:
        key = restore_key(os.environ.get("NAMETAG_RESTORE_KEY") or None)
        previous = restore_key(os.environ.get("NAMETAG_RESTORE_KEY_PREVIOUS") or None)
        ttl = ttl_seconds(os.environ.get("NAMETAG_RESTORE_TTL_S") or DEFAULT_TTL_S)
    except ValueError as e:
        raise Fatal(f"NAMETAG_RESTORE_KEY, NAMETAG_RESTORE_KEY_PREVIOUS or NAMETAG_RESTORE_TTL_S: {e}") from None
    if key is None:
        raise Fatal(f"{need} needs NAMETAG_RESTORE_KEY (the service's restore key) in the environment")
    return Sealer(key, previous, ttl)


def restorable(args, op: Operator | None) -> Sealer | None:
    if not args.restorable:
        return None
    if op is None or op.name != "pseudonym":
        raise Fatal("--restorable needs --redact pseudonym (only pseudonyms can be restored)")
    return sealer("--restorable")


def lists(args, out_format: str) -> Lists:
    """--allow and --deny, which change the entities of JSONL output (CoNLL has only tags)."""
    if (args.allow or args.deny) and out_format != "jsonl":
        raise Fatal("--allow and --deny change the entities of JSONL output; give a .jsonl output "
                    "or --format jsonl")
    return Lists(tuple(args.allow), tuple(args.deny))


def check_types(args, types: tuple[str, ...]) -> None:
    """--entities against the model's types (Fatal naming them), before any output exists."""
    try:
        check_entities(args.entities, types)
    except ValueError as e:
        raise Fatal(f"--entities: {e}") from None


def open_client(args):
    import logging

    import dask
    from distributed import Client, LocalCluster
    if args.scheduler:
        client = Client(args.scheduler, timeout="30s")
        client.wait_for_workers(1, timeout=60)
        return client
    with dask.config.set(LOCAL_WORKER_CONFIG):
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    return Client(cluster)


def tag(args) -> int:
    t0 = time.perf_counter()
    out_format = format_of(args.output, args.format, OUTPUT_FORMATS, "output") \
        if args.output != "-" or args.format else "jsonl"
    srcs = sources(args.inputs, args.input_format)
    op = redaction(args, out_format)
    opts = Options("txt", out_format, args.artifact, args.text_key, args.tokens, op, lists(args, out_format),
                   restorable(args, op), args.entities)
    client, stats = None, {"workers": {}}
    try:
        if args.workers is None and args.scheduler is None:
            check_types(args, tagger(args.artifact).config.types)  # fail early, and before the bar's clock
        else:
            check_types(args, load(args.artifact).types)
            if args.workers is not None and args.workers < 1:
                raise Fatal("--workers: give at least 1")
            client = open_client(args)
            client.run(warm, args.artifact)  # each worker loads the model once, now
            stats["startup_s"] = time.perf_counter() - t0
        bar = Progress(sum(s.size or 0 for s in srcs) or None, args.quiet)
        t1 = time.perf_counter()
        if client is None:
            parts = run_local(srcs, opts, args.blocksize, bar.count)
        else:
            window = 2 * sum(client.nthreads().values()) + 1
            parts = run_cluster(client, srcs, opts, args.blocksize, window)
        totals = dict(records=0, tokens=0, names=0, skipped=0)
        with atomic_output(args.output) as fh:
            lines: dict[str, int] = {}
            for src, part in parts:
                for bad in part.bad:
                    where = f"{src.path}:{lines.get(src.path, 0) + bad.line}: {bad.reason}"
                    if args.strict:
                        raise Fatal(where)
                    bar.write(f"nametag: warning: {where}; skipped")
                lines[src.path] = lines.get(src.path, 0) + part.n_lines
                fh.write(part.data)
                if client is not None:
                    bar.count(part.records, part.tokens)
                bar.bar.update(part.n_bytes)
                for k, v in zip(("records", "tokens", "names", "skipped"),
                                (part.records, part.tokens, part.names, len(part.bad))):
                    totals[k] += v
        bar.bar.close()
        secs, wall = time.perf_counter() - t1, time.perf_counter() - t0
        if client is not None:
            stats["workers"] = client.run(peak_rss_mib)
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
    print(f"nametag: {totals['records']:,} records, {totals['tokens']:,} tokens, {totals['names']:,} names "
          f"in {wall:.1f} s, start-up included ({totals['tokens'] / max(secs, 1e-9):,.0f} tokens/s while tagging); "
          f"{totals['skipped']:,} lines skipped; wrote {args.output}", file=sys.stderr)
    if args.stats:
        stats.update(totals, seconds=secs, wall_s=wall, peak_rss_mib=peak_rss_mib(),
                     workers_peak_rss_mib=list(stats.pop("workers").values()))
        with open(args.stats, "w") as fh:
            json.dump(stats, fh, indent=1)
    return 0


def restore(args) -> int:
    from .formats import Bad
    from .restore import restore_lines
    seal = sealer("nametag restore")
    counts = dict(records=0, skipped=0)
    for path in args.inputs:
        if path != "-" and not os.path.isfile(path):
            raise InputError(f"{path}: no such file")
    with atomic_output(args.output) as fh:
        for path in args.inputs:
            with (open(0, encoding="utf-8", closefd=False) if path == "-" else open(path, encoding="utf-8")) as src:
                for out in restore_lines(src, seal, args.text_key, args.token_key):
                    if isinstance(out, Bad):
                        where = f"{path}:{out.line}: {out.reason.rstrip('.')}"
                        if args.strict:
                            raise Fatal(where)
                        print(f"nametag: warning: {where}; skipped", file=sys.stderr)
                        counts["skipped"] += 1
                        continue
                    fh.write(out.encode("utf-8"))
                    counts["records"] += 1
    print(f"nametag: {counts['records']:,} records restored, {counts['skipped']:,} lines skipped; "
          f"wrote {args.output}", file=sys.stderr)
    return 0


def run(argv=None) -> int:
    """The command, without touching signal handlers: its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # its own options: model/train_cli.py, shared with train.py
        from model.train_cli import main as train_main
        return train_main(argv[1:], prog="nametag train", default_labels="all")
    args = build_parser().parse_args(argv)
    try:
        command = {"keys": new_key, "restore": restore}.get(args.command, tag)
        return command(args)
    except (Fatal, InputError, ArtifactError, ValueError, OSError) as e:
        print(f"nametag: error: {' '.join(str(e).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nametag: interrupted; no output written", file=sys.stderr)
        return 130


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so the temporary output is removed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(run())


if __name__ == "__main__":
    main()
