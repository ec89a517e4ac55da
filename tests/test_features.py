"""Feature rows: one builder for the tables and for featurize, addressed by group name."""
import numpy as np

from model.features import GROUPS, PAD, UNK, build_tables, document_sets, feature_key, featurize

SENTENCES = [["Anna", "Novak", "met", "Bob", "."], ["NOVAK", "smiled", "at", "Anna", "."]]


def tables():
    return build_tables(SENTENCES, [0, 0], {"ANNA": 4, "BOB": 3}, {"NOVAK": 2}, min_word=1, min_feature=1)


def test_group_ids_partition_the_id_space_and_match_featurize_columns():
    t = tables()
    groups = t.group_ids()
    assert sorted(np.concatenate(groups).tolist()) == list(range(1, t.n_x))
    ids = featurize(t, SENTENCES + [["Zyx", "qqq"]])
    for k, g in enumerate(groups):
        col = np.concatenate([f[:, k] for f in ids])
        assert np.isin(col, g).all() and PAD not in col, GROUPS[k]


def test_featurize_gives_the_ids_of_the_values_the_tables_were_built_from():
    t = tables()
    ids = featurize(t, SENTENCES[:1])[0]  # (T_x, K)
    col = {g: ids[:, k] for k, g in enumerate(GROUPS)}
    key = {v: i for v, i in t.index.items()}
    assert col["word"].tolist() == [key[feature_key("word", w)] for w in ("anna", "novak", "met", "bob", ".")]
    assert col["case"][0] == key["case=title|first"] and col["case"][2] == key["case=lower|mid"]
    assert col["fn"][0] == key["fn=4"] and col["ln"][1] == key["ln=2"] and col["ln"][0] == key["ln=none"]
    assert col["s4"][1] == key["s4=ovak"] and col["p1"][3] == key["p1=b"]
    # "NOVAK" follows the first name "Anna" elsewhere in its document
    second = featurize(t, SENTENCES, document_sets([0, 0], SENTENCES, t.first_names))[1]
    assert second[0, GROUPS.index("doc")] == key["doc=name"]
    assert featurize(t, SENTENCES[1:])[0][0, GROUPS.index("doc")] == key["doc=no"]


def test_unseen_word_maps_to_its_groups_unk_and_keeps_its_other_features():
    t = tables()
    ids = featurize(t, [["Zanna"]])[0][0]
    row = dict(zip(GROUPS, ids))
    assert row["word"] == t.index[feature_key("word", UNK)]
    assert row["s4"] == t.index["s4=anna"] and row["shape"] == t.index["shape=Xx"]
