# One-command set-up on a fresh machine: `make serve` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DATA   := ../shared/data

.PHONY: install tools serve test mutation test-quick bench bench-extra bench-quick train train-conll4 evaluate lock clean

# The project is installed editable, so the `nametag` command runs this checkout; setuptools'
# notice that an editable install exists (a box of stars) is silenced: it is the point of it.
$(BIN)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.lock
	PYTHONWARNINGS=ignore $(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(BIN)/.installed

# wrk (Debian's package) is the bench's HTTP load generator; tests/test_bench.py runs the
# bench. Where wrk cannot be installed that test skips, saying why, or fails when CI is set
# (tests/conftest.py, need()).
tools:
	@command -v wrk >/dev/null || { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  timeout 600 apt-get install -y -qq --no-install-recommends wrk >/dev/null; } \
	  || echo "make: could not install wrk (Debian's package): the bench needs it" \
	          "(tests/test_bench.py fails with CI set, skips without)" >&2

serve: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c service/gunicorn.conf.py 'service:create_app()'

# PYTEST_ARGS: a selection (`make test PYTEST_ARGS=tests/test_page.py`); empty: every test.
test: install tools
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The unit and Flask-client tests: no trained models, gunicorn, Docker, browser or Dask (about 2 minutes).
test-quick: install
	$(BIN)/python -m pytest -q -m "not slow and not docker"

# Mutation testing of the core's pure functions (model/decode.py, heads.py, redact.py,
# tokenizer.py, offsets.py) against their fast unit tests: mutmut, configured in pyproject.toml.
# A few minutes on 2 cores; prints the score and every surviving mutant.
mutation: install
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 >/dev/null
	$(BIN)/mutmut export-cicd-stats >/dev/null
	$(BIN)/python -c 'import json; print("mutation score: %(killed)d killed of %(total)d; %(survived)d survived, %(no_tests)d without a test" % json.load(open("mutants/mutmut-cicd-stats.json")))'
	$(BIN)/mutmut results

# The bench compares the network with PyTorch's nn.RNN: the `bench` extra (the CPU wheel of
# torch, never at runtime) is installed for it; without it the torch rows are left out.
bench-extra: install
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q -e '.[bench]'

bench: install tools bench-extra
	$(BIN)/python -m bench

bench-quick: install tools bench-extra
	$(BIN)/python -m bench --quick

# Train the default model's recipe: CoNLL-2003 + WNUT-17 + generated documents, GloVe vectors, case
# and name augmentation, the loss of the whole tag path (about 3 minutes on an idle 2-core machine;
# train.py pins BLAS to one thread itself).
# Writes artifacts/trained (OUT=DIR to choose); the shipped artifacts/default is never overwritten
# unless OUT=artifacts/default is given.
OUT ?= artifacts/trained
train: install
	$(BIN)/python train.py --train $(DATA)/conll2003/train.conll $(DATA)/wnut17/train.conll \
		--dev $(DATA)/conll2003/dev.conll $(DATA)/wnut17/dev.conll \
		--vectors 100000 --serve-vectors 175000 --p-lower 0.15 --p-upper 0.1 --p-replace 0.3 --epochs 6 --patience 2 \
		--synth-share 0.2 --loss path --seed 3 --entity-bias 0.5 \
		--calibrate-every-case --out $(OUT) --name nametag-conll03-wnut17-glove

# The second shipped model, artifacts/conll4: PER, LOC, ORG and MISC, trained on CoNLL-2003 alone
# with the default's levers (GloVe vectors, fine-tuned here, case and name augmentation); flags
# chosen on CoNLL-2003 dev. Six networks, seeds 1 to 3 at dropout 0.4 and at 0.5, joined into one
# artifact whose networks tag together (model/ensemble.py). Each trains on CoNLL-2003 train and half
# of CoNLL-2003 dev (108 of its 216 documents, drawn by python -m model.split with seed 0); the other
# half chooses each network's epoch and fits the ensemble's calibration. About 20 minutes on an idle
# 2-core machine. Writes artifacts/conll4 (CONLL4_OUT=DIR to choose), the dev halves under
# build/conll2003/ and the six networks under artifacts/.conll4-networks/.
CONLL4_OUT ?= artifacts/conll4
CONLL4_SEEDS ?= 1 2 3
CONLL4_DROPOUTS ?= 0.4 0.5
CONLL4_NETWORKS ?= artifacts/.conll4-networks
CONLL4_DEV ?= build/conll2003
train-conll4: install
	$(BIN)/python -m model.split $(DATA)/conll2003/dev.conll --out $(CONLL4_DEV) --share 0.5 --seed 0
	for dropout in $(CONLL4_DROPOUTS); do for seed in $(CONLL4_SEEDS); do \
		$(BIN)/python train.py --train $(DATA)/conll2003/train.conll $(CONLL4_DEV)/dev-a.conll --dev $(CONLL4_DEV)/dev-b.conll \
			--labels all --vectors 200000 --tune-vectors --p-lower 0.15 --p-upper 0.1 --p-replace 0.3 \
			--epochs 10 --patience 3 --loss path --no-progress --seed $$seed --dropout $$dropout \
			--out $(CONLL4_NETWORKS)/seed$$seed-dropout$$dropout \
			--name nametag-conll03-4types-glove-seed$$seed-dropout$$dropout || exit 1; \
	done; done
	$(BIN)/python -m model.ensemble $(foreach d,$(CONLL4_DROPOUTS),$(foreach s,$(CONLL4_SEEDS),$(CONLL4_NETWORKS)/seed$(s)-dropout$(d))) \
		--dev $(CONLL4_DEV)/dev-b.conll --out $(CONLL4_OUT) --name nametag-conll03-4types-glove

evaluate: install
	$(BIN)/python -m model.evaluate --artifact artifacts/default --data $(DATA)/conll2003/test.conll

clean:
	rm -rf $(VENV) .pytest_cache
