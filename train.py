#!/usr/bin/env python3
r"""Train a tagger offline and export an artifact: the same program as ``nametag train``.

    python train.py --train ../shared/data/conll2003/train.conll \
                    --dev ../shared/data/conll2003/dev.conll --out artifacts/NAME

See ``python train.py --help`` (model/train_cli.py) and docs/training.md.
"""
import sys

from model.train_cli import main

if __name__ == "__main__":
    sys.exit(main())
