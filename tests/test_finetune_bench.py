"""bench.finetune's own logic on small made-up corpora: the seeded split by documents, the
CoNLL files it writes for train.py, and the replay share chosen on dev (the fine-tuning
runs themselves: ``python -m bench.finetune``), and the split of the committed domains."""
from __future__ import annotations

from bench.finetune import choose_replay, head, per_only, split_documents, write_conll
from model.data import Corpus, read_conll


def corpus(n_docs: int = 12) -> Corpus:
    """Document d has d % 3 + 1 sentences; sentence j names a person, then a place."""
    sents, tags, docs = [], [], []
    for d in range(n_docs):
        for j in range(d % 3 + 1):
            sents.append([f"Ann{d}", f"Lee{j}", "saw", f"Paris{d}", "."])
            tags.append([1, 2, 0, 3, 0])  # B-PER I-PER O B-LOC O
            docs.append(d)
    return Corpus(sents, tags, docs, ("PER", "LOC"))


def test_split_deals_whole_documents_seeded_and_disjoint():
    c = corpus()
    train, dev, test = split_documents(c, seed=0, test_min=5, dev_min=4, names_min=0)
    assert len(train) + len(dev) + len(test) == len(c)
    assert len(test) >= 5 and len(dev) >= 4
    sets = [set(train.docs), set(dev.docs), set(test.docs)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])  # no document in two splits
    for part in (train, dev, test):  # every document whole
        for d in set(part.docs):
            assert part.docs.count(d) == d % 3 + 1
    again = split_documents(c, seed=0, test_min=5, dev_min=4, names_min=0)
    assert [p.sentences for p in again] == [p.sentences for p in (train, dev, test)]
    other = split_documents(c, seed=1, test_min=5, dev_min=4, names_min=0)
    assert [p.docs for p in other] != [p.docs for p in (train, dev, test)]


def test_split_also_waits_for_enough_names_in_test_and_dev():
    c = corpus()  # one name a sentence: 24 in all
    for j in range(len(c)):  # but documents 0 to 5 lose theirs
        if c.docs[j] < 6:
            c.tags[j] = [0, 0, 0, 3, 0]
    train, dev, test = split_documents(c, seed=0, test_min=1, dev_min=1, names_min=5)
    count = [sum(t.count(1) for t in part.tags) for part in (train, dev, test)]
    assert count[2] >= 5 and count[1] >= 5, count  # a sentence each would have done without names_min
    no_test, dev0, _ = split_documents(c, seed=0, test_min=0, dev_min=1, names_min=5)[::-1]
    assert len(no_test) == 0 and sum(t.count(1) for t in dev0.tags) >= 5  # test_min 0: no test part at all


def test_written_conll_reads_back_with_its_documents_and_types(tmp_path):
    c = head(corpus(), 7)
    back = read_conll(write_conll(c, tmp_path / "x.conll"), types=None)
    assert back.sentences == c.sentences and back.tags == c.tags
    assert len(set(back.docs)) == len(set(c.docs))
    assert per_only(back).tags[0] == [1, 2, 0, 0, 0]  # the place is O for the person model


def run(replay, wiki, conll):
    return {"replay": replay, "domain_dev": {"f1": wiki}, "conll_dev": {"f1": conll}}


def test_replay_is_the_best_new_domain_dev_score_within_one_point_of_conll():
    before = 0.960
    sweep = [run(0.0, 0.80, 0.930), run(0.25, 0.78, 0.951), run(0.5, 0.77, 0.955), run(0.75, 0.70, 0.959)]
    assert choose_replay(sweep, before) == 0.25  # 0 loses 3 points; 0.25 the best of the rest
    # none within a point: the share that loses least
    assert choose_replay([run(0.0, 0.8, 0.90), run(0.5, 0.7, 0.94)], before) == 0.5


def test_a_full_bench_run_keeps_the_finetune_part_it_did_not_run(tmp_path):
    import json

    from bench.__main__ import keep_named_only, update

    path = tmp_path / "results.json"
    full = {"env": {"date": "d1"}, "quick": False, "parts": ["quality"], "quality": {"q": 1}}
    path.write_text(json.dumps(full))
    alone = {"env": {"date": "d2"}, "quick": False, "parts": ["finetune"], "finetune": {"f": 1},
             "wall_s": 9.0, "load_avg_at_end": [1, 1, 1]}
    merged = update(path, alone)  # python -m bench --only finetune
    assert merged["quality"] == {"q": 1} and merged["finetune"] == {"f": 1}
    assert [u["parts"] for u in merged["updates"]] == [["finetune"]]
    path.write_text(json.dumps(merged))
    again = keep_named_only(path, {"env": {"date": "d3"}, "quick": False, "parts": ["quality"], "quality": {"q": 2}})
    assert again["quality"] == {"q": 2} and again["finetune"] == {"f": 1}  # kept, with when it ran
    assert [u["parts"] for u in again["updates"]] == [["finetune"]]
    path.write_text(json.dumps(full))
    assert "finetune" not in keep_named_only(path, {"parts": ["quality"], "quality": {}})  # nothing to keep



def test_every_domain_splits_its_committed_files_into_disjoint_whole_documents():
    from bench.finetune import DOMAINS

    for domain in DOMAINS.values():
        train, dev, test = domain.splits()
        assert len(dev) >= 250 and len(test) >= 250 and len(train) >= 300, domain.key  # room for the 300-sentence run
        every = [read_conll(p, types=None) for p in domain.paths()]
        assert len(train) + len(dev) + len(test) == sum(len(c) for c in every), domain.key
        assert not set(train.docs) & set(dev.docs), domain.key  # dealt whole, from the same file
        if domain.published_test:  # the published test file, whole
            assert test.sentences == every[-1].sentences and test.tags == every[-1].tags
        else:
            assert not (set(train.docs) | set(dev.docs)) & set(test.docs), domain.key
        names = [sum(t.count(1) for t in per_only(part).tags) for part in (train, dev, test)]
        assert min(names) > 0, (domain.key, names)  # every part has people to find


def test_the_replay_default_is_the_share_the_committed_bench_chose_on_every_domain():
    import json

    from bench.report import RESULTS
    from model.finetune import REPLAY

    domains = json.loads(RESULTS.read_text())["finetune"]["domains"]
    assert {k: d["replay"]["chosen"] for k, d in domains.items()} == {k: REPLAY for k in domains}
