# weft: `make run` starts everything on embedded defaults, `make test` runs the suite.
VENV   := .venv
PY     := $(VENV)/bin/python
PROTOS := $(wildcard proto/weft/v1/*.proto)
GEN    := services/common/generated
STAMP  := $(GEN)/.stamp

.PHONY: setup proto run test test-unit bench demo clean

setup:
	@bash scripts/setup.sh

proto: $(STAMP)

$(STAMP): $(PROTOS)
	@rm -rf $(GEN) && mkdir -p $(GEN)
	@$(PY) -m grpc_tools.protoc -I proto --python_out=$(GEN) --pyi_out=$(GEN) \
	    --grpc_python_out=$(GEN) $(PROTOS)
	@touch $@
	@echo "proto: generated $(words $(PROTOS)) files into $(GEN)"

run: setup
	$(VENV)/bin/weft up

test: setup
	$(PY) -m pytest -q -rs tests

test-unit: setup
	$(PY) -m pytest -q tests/unit

bench: setup
	$(PY) -m bench

demo: setup
	$(VENV)/bin/weft lab demo

clean:
	rm -rf $(GEN) build *.egg-info
