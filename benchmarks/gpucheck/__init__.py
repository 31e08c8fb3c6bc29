"""The GPU readiness check's steps (benchmarks/gpu_check.py runs them; docs/sizing.md says how)."""
