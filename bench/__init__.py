"""The archiving benchmark (`python bench/run.py`): see BENCHMARKS.md."""
