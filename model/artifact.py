"""The artifact format: one directory, two files, no pickle.

    weights.npz   the parameter dict, one .npy member per parameter (float32),
                  plus the pretrained vectors when the model has them
                  (G_q int8 (V+1, n_g), G_scale float32 (V+1, 1): model/vectors.py);
                  an ensemble (config.members = K > 1, model/ensemble.py) adds the
                  parameters and vectors of networks 2..K, each name prefixed "m<k>_"
                  ("m2_W_ax", "m2_G_q"): same shapes, same words, their own values.
                  W_ax and W_ax_bw, the sparse features' columns and most of the
                  bytes, may be stored as float16 (``save(..., half=True)``, as the
                  ensembles are); every parameter is float32 once loaded
    meta.json     format version, model config (with its entity types), feature
                  tables (with the character vocabulary when the model reads
                  characters), label set (the IOB2 tags),
                  the vectors' words and licence, training flags and data
                  checksums, metrics, sha256 of weights.npz

``save`` writes byte-identical files for identical inputs (fixed zip
timestamps, sorted JSON) and replaces the target directory atomically;
``load`` rebuilds everything from the directory alone and refuses anything that
does not check out, with an ``ArtifactError`` naming what is wrong.
"""
from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .calibration import Calibration
from .features import FeatureTables
from .network import Config, param_shapes
from .vectors import LICENSE, Vectors

FORMAT_VERSION = 1
WEIGHTS, META = "weights.npz", "meta.json"
DEFAULT_ARTIFACT = Path(__file__).resolve().parent.parent / "artifacts" / "default"  # the shipped model


class ArtifactError(ValueError):
    """An artifact that cannot be loaded; the message says which file and why."""


class Network(NamedTuple):
    """One network of an artifact: its parameters and its vectors (fine-tuned by its own run)."""
    params: dict[str, np.ndarray]
    vectors: Vectors | None


def member_prefix(k: int) -> str:
    """The prefix of network k's arrays in weights.npz: none for the first, "m<k>_" after."""
    return "" if k == 1 else f"m{k}_"


def member_of(name: str) -> tuple[int, str]:
    """(network number, array name) of a weights.npz array name: "m2_W_ax" -> (2, "W_ax")."""
    head, sep, rest = name.partition("_")
    if sep and head[:1] == "m" and head[1:].isdigit():
        return int(head[1:]), rest
    return 1, name


@dataclass
class Artifact:
    params: dict[str, np.ndarray]
    config: Config
    tables: FeatureTables
    meta: dict  # everything in meta.json
    vectors: Vectors | None = None  # g<t>'s table, when config.n_g > 0
    calibration: Calibration | None = None  # meta["calibration"], verified; None: raw scores
    members: tuple[Network, ...] = ()  # networks 2..K of an ensemble (config.members = K)

    @property
    def networks(self) -> tuple[Network, ...]:
        """Every network whose ŷ the tagger averages: this one's params and vectors, then the members'."""
        return (Network(self.params, self.vectors), *self.members)

    @property
    def name(self) -> str:
        return self.meta.get("name", "")

    @property
    def types(self) -> tuple[str, ...]:
        """The entity types the model finds, in tag order ("PER" for the person model)."""
        return self.config.types

    @property
    def version(self) -> str:
        return self.meta["weights_sha256"][:12]


VECTOR_DTYPES = {"G_q": np.int8, "G_scale": np.float32}
HALF = ("W_ax", "W_ax_bw")  # the parameters save(..., half=True) stores as float16


def halved(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """params with the HALF arrays rounded to float16 and back (float32): the values an
    artifact saved with half=True gives when loaded, so a model is scored as stored."""
    return {k: v.astype(np.float16).astype(np.float32) if k in HALF else v for k, v in params.items()}


def _npz_bytes(params: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(params):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, params[name], allow_pickle=False)
    return buf.getvalue()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    return fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


def save(out_dir: str | Path, params, config: Config, tables: FeatureTables, meta: dict,
         extra_files: dict[str, bytes] | None = None, vectors: Vectors | None = None,
         members: tuple[Network, ...] = (), half: bool = False) -> Path:
    """Write the artifact to out_dir, atomically replacing any previous one.

    extra_files (e.g. the learning-curve PNG) are written beside the two
    artifact files, in the same atomic swap. members: networks 2..K of an
    ensemble, as many as config.members says, with vectors of the same words.
    half: store the HALF parameters as float16 (round them first with ``halved``
    to score the model as it is stored)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if config.members != 1 + len(members):
        raise ValueError(f"config.members = {config.members} but {1 + len(members)} network(s) given")
    arrays = {}
    for k, (p, vec) in enumerate([Network(params, vectors), *members], 1):
        if (vec is None) != (vectors is None) or (vec is not None and vec.words != vectors.words):
            raise ValueError(f"network {k} has other vectors' words than network 1")
        pre = member_prefix(k)
        arrays.update({pre + n: np.asarray(v, dtype=np.float16 if half and n in HALF else np.float32, order="K")
                       for n, v in p.items()})
        if vec is not None:
            arrays.update({pre + n: v for n, v in vec.arrays().items()})
    if vectors is not None:
        meta = dict(meta, vectors=dict(LICENSE, words=list(vectors.words)))
    weights = _npz_bytes(arrays)
    full = dict(meta, format_version=FORMAT_VERSION, config=config.to_json(), labels=list(config.tags),
                features=tables.to_json(), weights_sha256=hashlib.sha256(weights).hexdigest())
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        files = {WEIGHTS: weights, META: json.dumps(full, sort_keys=True, indent=1).encode(), **(extra_files or {})}
        for name, data in files.items():
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o755)
        if out_dir.exists() and _exchange(tmp, out_dir):
            shutil.rmtree(tmp)  # tmp now holds the previous artifact
        else:
            if out_dir.exists():
                old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
                os.rename(out_dir, old)
                os.rename(tmp, out_dir)
                shutil.rmtree(old)
            else:
                os.rename(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def load(art_dir: str | Path) -> Artifact:
    """Read and verify an artifact: checksum, format version, config, every shape."""
    art_dir = Path(art_dir)
    if not art_dir.is_dir():
        raise ArtifactError(f"{art_dir}: no such artifact directory")
    try:
        meta = json.loads((art_dir / META).read_text(encoding="utf-8"))
        weights = (art_dir / WEIGHTS).read_bytes()
    except FileNotFoundError as e:
        raise ArtifactError(f"{art_dir}: missing {Path(e.filename).name}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{art_dir / META}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ArtifactError(f"{art_dir / META}: expected a JSON object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{art_dir / META}: format version {meta.get('format_version')!r}, "
                            f"this code reads version {FORMAT_VERSION}")
    if hashlib.sha256(weights).hexdigest() != meta.get("weights_sha256"):
        raise ArtifactError(f"{art_dir / WEIGHTS}: checksum mismatch (file changed or truncated)")
    try:
        config = Config(**meta["config"])
        tables = FeatureTables.from_json(meta["features"])
    except (KeyError, TypeError) as e:
        raise ArtifactError(f"{art_dir / META}: bad config or feature tables ({e})") from None
    except ValueError as e:  # e.g. an unknown head
        raise ArtifactError(f"{art_dir / META}: {e}") from None
    if meta.get("labels", list(config.tags)) != list(config.tags):
        raise ArtifactError(f"{art_dir / META}: labels {meta.get('labels')!r} do not match the config's "
                            f"types {list(config.types)}")
    if tables.n_x != config.n_x:
        raise ArtifactError(f"{art_dir / META}: feature tables give n_x={tables.n_x}, config says {config.n_x}")
    if tables.n_ch != config.n_ch:
        raise ArtifactError(f"{art_dir / META}: feature tables give n_ch={tables.n_ch} (characters), "
                            f"config says {config.n_ch}")
    networks: list[Network] = []
    expected = param_shapes(config)
    for k, params in enumerate(_networks(art_dir / WEIGHTS, _read_params(art_dir / WEIGHTS, weights), config), 1):
        pre = member_prefix(k)
        vectors = _vectors(art_dir, meta, params, config, pre, networks[0].vectors if networks else None)
        if set(params) != set(expected):
            raise ArtifactError(f"{art_dir / WEIGHTS}: parameters {sorted(pre + n for n in params)}, "
                                f"expected {sorted(pre + n for n in expected)}")
        for name, shp in expected.items():
            if params[name].shape != shp:
                raise ArtifactError(f"{art_dir / WEIGHTS}: {pre}{name} has shape {params[name].shape}, "
                                    f"expected {shp}")
        networks.append(Network(params, vectors))
    params, vectors = networks[0]
    calibration = None
    if "calibration" in meta:
        try:
            calibration = Calibration.from_json(meta["calibration"])
        except ValueError as e:
            raise ArtifactError(f"{art_dir / META}: {e}") from None
        if calibration.entity_by_type is not None and calibration.types != config.types:
            raise ArtifactError(f"{art_dir / META}: calibration types {list(calibration.types)} "
                                f"differ from the model's {list(config.types)}")
    return Artifact(params, config, tables, meta, vectors, calibration, tuple(networks[1:]))


def update_meta(art_dir: str | Path, changes: dict) -> Artifact:
    """Set top-level keys of an artifact's meta.json (e.g. "calibration"), weights
    untouched: the artifact is verified before, the new meta.json replaces the
    old one atomically (a rename in the same directory), and the result is
    verified again. Keys the format owns cannot be changed here."""
    art_dir = Path(art_dir)
    load(art_dir)
    owned = {"format_version", "config", "labels", "features", "weights_sha256"} & set(changes)
    if owned:
        raise ValueError(f"update_meta cannot change {sorted(owned)}: retrain instead")
    meta = {**json.loads((art_dir / META).read_text(encoding="utf-8")), **changes}
    write_atomic(art_dir / META, json.dumps(meta, sort_keys=True, indent=1).encode())
    return load(art_dir)


def write_atomic(path: Path, data: bytes) -> None:
    """Write one file so that it is either the old one or all of the new one: a
    temporary file in the same folder, synced, then renamed over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _vectors(art_dir: Path, meta: dict, params: dict, config: Config, pre: str = "",
             first: Vectors | None = None) -> Vectors | None:
    """Take the vector arrays out of one network's params and check them against config
    and meta.json; an ensemble's later networks share the first one's words (``first``)."""
    arrays = {k: params.pop(k) for k in VECTOR_DTYPES if k in params}
    if not config.n_g:
        if arrays or "vectors" in meta:
            raise ArtifactError(f"{art_dir}: holds pretrained vectors but config.n_g is 0")
        return None
    if first is not None:
        for k, shp in ((k, a.shape) for k, a in first.arrays().items()):
            if k not in arrays:
                raise ArtifactError(f"{art_dir / WEIGHTS}: config.n_g = {config.n_g} but {pre}{k} is missing")
            if arrays[k].shape != shp:
                raise ArtifactError(f"{art_dir / WEIGHTS}: {pre}{k} has shape {arrays[k].shape}, expected {shp}")
        _check_vector_values(art_dir, arrays, pre)
        return first.sharing_words(arrays["G_q"], arrays["G_scale"])
    words = meta.get("vectors", {}).get("words") if isinstance(meta.get("vectors"), dict) else None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ArtifactError(f"{art_dir / META}: config.n_g = {config.n_g} but no vectors.words list")
    if len(set(words)) != len(words):
        raise ArtifactError(f"{art_dir / META}: vectors.words has duplicates")
    want = {"G_q": (len(words) + 1, config.n_g), "G_scale": (len(words) + 1, 1)}
    for k, shp in want.items():
        if k not in arrays:
            raise ArtifactError(f"{art_dir / WEIGHTS}: config.n_g = {config.n_g} but {k} is missing")
        if arrays[k].shape != shp:
            raise ArtifactError(f"{art_dir / WEIGHTS}: {k} has shape {arrays[k].shape}, expected {shp}")
    _check_vector_values(art_dir, arrays)
    return Vectors(tuple(words), arrays["G_q"], arrays["G_scale"])


def _check_vector_values(art_dir: Path, arrays: dict[str, np.ndarray], pre: str = "") -> None:
    if not np.isfinite(arrays["G_scale"]).all() or (arrays["G_scale"] < 0).any():
        raise ArtifactError(f"{art_dir / WEIGHTS}: {pre}G_scale must be finite and >= 0")
    if arrays["G_q"][0].any() or arrays["G_scale"][0, 0] != 0:
        raise ArtifactError(f"{art_dir / WEIGHTS}: {pre}row 0 of the vectors (no vector) must be zero")


def _networks(path: Path, arrays: dict[str, np.ndarray], config: Config) -> list[dict[str, np.ndarray]]:
    """The arrays of weights.npz as one dict per network, names without their prefix,
    numbered 1..K as config.members says."""
    groups: dict[int, dict[str, np.ndarray]] = {}
    for name, a in arrays.items():
        k, base = member_of(name)
        if member_prefix(k) + base != name:  # "m1_W_ax", "m02_W_ax": not a name save writes
            raise ArtifactError(f"{path}: {name}: an ensemble's arrays are named m2_..., m3_..., ...")
        groups.setdefault(k, {})[base] = a
    if sorted(groups) != list(range(1, config.members + 1)):
        raise ArtifactError(f"{path}: holds network(s) {sorted(groups)}, but config.members is {config.members}")
    return [groups[k] for k in sorted(groups)]


def _read_params(path: Path, data: bytes) -> dict[str, np.ndarray]:
    if not data.startswith(b"PK"):
        raise ArtifactError(f"{path}: not a readable .npz (no zip header)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            params = {k: npz[k] for k in npz.files}
    except ValueError:  # object arrays need pickle, which is never allowed
        raise ArtifactError(f"{path}: refused: holds pickled (object) data") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise ArtifactError(f"{path}: not a readable .npz ({e})") from None
    for k, v in params.items():
        base = member_of(k)[1]
        want = VECTOR_DTYPES.get(base, np.float32)
        if v.dtype == np.float16 and base in HALF:
            params[k] = v.astype(np.float32)  # stored in half the bytes; computed in float32
        elif v.dtype != want:
            raise ArtifactError(f"{path}: {k} has dtype {v.dtype}, expected {np.dtype(want).name}")
    return params
