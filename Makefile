# Task list; every target uses the project's virtual environment (python3 -m venv .venv && .venv/bin/pip install -e ".[test]").
# `make bench` needs the baselines too: .venv/bin/pip install -e ".[test,bench]".
PY ?= .venv/bin/python
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: test lint bench quality

test:
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check bot tests bench
	$(PY) -m ruff format --check bot tests bench
	$(PY) -m mypy
	$(PY) run_bot.py faq check

bench:
	$(PY) bench/bench_matcher.py
	$(PY) bench/bench_start.py
	$(PY) bench/bench_tickets.py
	$(PY) bench/bench_wechat.py
	$(PY) bench/bench_telegram.py
	$(PY) bench/bench_report.py

quality:
	$(PY) bench/match_quality.py --dev ../shared/dev-questions.jsonl
