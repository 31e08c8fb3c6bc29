"""The parts of benchmarks/throughput.py: inputs (media), ceilings and the computed limit,
the two end-to-end runners (ours, naive), the sweep, the latency run against a real API,
the target rows and the report. ``benchmarks/throughput.py`` is the one command."""
