"""The sigmoid head serves too: a model trained with --head sigmoid, and its threshold."""
import pytest
from tiny_model import tiny_conll, train_tiny

from service import create_app


@pytest.fixture(scope="module")
def sigmoid_client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sig")
    r = train_tiny(tmp / "sig", tiny_conll(tmp / "tiny.conll"), "--head", "sigmoid", "--epochs", "8",
                   "--lr", "0.02", "--dropout", "0", "--word-dropout", "0", "--name", "tiny-sigmoid")
    assert r.returncode == 0, r.stderr
    return create_app({"TESTING": True, "ARTIFACT": str(tmp / "sig")}).test_client()


def test_model_route_reports_the_sigmoid_head(sigmoid_client):
    info = sigmoid_client.get("/model").get_json()
    assert info["head"] == "sigmoid" and info["n_y"] == 1 and info["name"] == "tiny-sigmoid"


def test_sigmoid_tags_names_and_threshold_moves_the_cut(sigmoid_client):
    text = "Anna Smith met the man David Novak ."
    r = sigmoid_client.post("/tag", json={"text": text})
    assert r.status_code == 200
    body = r.get_json()
    assert body["labels"] == [1, 1, 0, 0, 0, 1, 1, 0]
    assert [e["text"] for e in body["entities"]] == ["Anna Smith", "David Novak"]
    scores = [t["score"] for t in body["tokens"]]
    # a threshold below every score makes every token a name; above every score, none
    low = sigmoid_client.post("/tag", json={"text": text, "threshold": min(scores) / 2}).get_json()
    assert low["labels"] == [1] * 8 and len(low["entities"]) == 1
    high = sigmoid_client.post("/tag", json={"text": text, "threshold": (max(scores) + 1) / 2}).get_json()
    assert high["labels"] == [0] * 8 and high["entities"] == []
    ranked = sorted(scores)
    gap = max(range(7), key=lambda i: ranked[i + 1] - ranked[i])
    mid = (ranked[gap] + ranked[gap + 1]) / 2  # far from every score, so rounding cannot matter
    cut = sigmoid_client.post("/tag", json={"text": text, "threshold": mid}).get_json()
    assert cut["labels"] == [int(s >= mid) for s in scores]
    assert sigmoid_client.post("/tag", json={"text": text, "threshold": 1.5}).status_code == 422


def test_a_greeting_and_a_title_are_outside_names_with_the_sigmoid_head_too(sigmoid_client):
    """The title and greeting rules (model.titles) decode those words as O, whatever the head."""
    body = sigmoid_client.post("/tag", json={"text": "Hi Anna Smith met the man Mr David Novak ."}).get_json()
    rule = {t["text"]: (t["label"], t["score"]) for t in body["tokens"] if t["text"] in ("Hi", "Mr")}
    assert rule == {"Hi": (0, 0.0), "Mr": (0, 0.0)}
    assert [e["text"] for e in body["entities"]] == ["Anna Smith", "David Novak"]
