"""Tag texts inside an existing Dask pipeline.

    from bulk.dask_api import tag_bag, tag_dataframe
    records = tag_bag(dask.bag.from_sequence(texts, npartitions=8))        # dicts with entities
    ddf = tag_dataframe(ddf, "body")                                         # + an entities column
    tag_bag(bag, artifact="artifacts/conll4", entities=("PER", "LOC"))      # only these types

Each partition is tagged in chunks of about CHUNK_TOKENS tokens (one Tagger call
each). A task carries only the artifact's path: each worker process loads the
model the first time it needs it and keeps it (``bulk.tagging.tagger``), so the
path must be readable on every worker.
"""
from __future__ import annotations

from model.artifact import DEFAULT_ARTIFACT as _DEFAULT
from model.names import check_entities

from .formats import tagged_record, text_doc
from .tagging import Options, chunks, tag_docs, tagger

DEFAULT_ARTIFACT = str(_DEFAULT)


def tag_records(items: list, artifact: str = DEFAULT_ARTIFACT, text_key: str = "text",
                tokens: bool = False, entities=None) -> list[dict]:
    """Tag a list of texts (str) or records (dicts with a string under text_key):
    one dict per item, the record plus ``entities`` (``tokens`` and ``labels``
    too with tokens=True), as POST /tag answers. entities: the types to report, e.g.
    ("PER", "LOC") (None: all the model's); one it does not find is a ValueError naming its types."""
    docs = []
    for item in items:
        record = item if isinstance(item, dict) else {text_key: item}
        text = record.get(text_key)
        if not isinstance(text, str):
            raise TypeError(f"expected a string under {text_key!r}, got {type(text).__name__}")
        docs.append(text_doc(record, text))
    tag, out = tagger(artifact), []
    check_entities(entities, tag.config.types)
    for chunk in chunks(docs):
        out.extend(tagged_record(d, t, tokens, entities=entities) for d, t in zip(chunk, tag_docs(tag, chunk)))
    return out


def tag_bag(bag, artifact: str = DEFAULT_ARTIFACT, text_key: str = "text", tokens: bool = False,
            entities=None):
    """A bag of texts or records -> a bag of tagged records, partition by partition."""
    return bag.map_partitions(tag_records, artifact=artifact, text_key=text_key, tokens=tokens, entities=entities)


def _tag_frame(df, column: str, artifact: str, entities=None):
    found = [r["entities"] for r in tag_records(df[column].tolist(), artifact, "text", entities=entities)]
    return df.assign(entities=found)


def tag_dataframe(ddf, column: str, artifact: str = DEFAULT_ARTIFACT, entities=None):
    """A Dask DataFrame plus an ``entities`` column: for each row, the names found in
    its `column` (a list of dicts, as in POST /tag), of the types in entities (None: all)."""
    import pandas as pd
    meta = ddf._meta.assign(entities=pd.Series([], dtype=object))
    return ddf.map_partitions(_tag_frame, column, artifact, entities, meta=meta)
