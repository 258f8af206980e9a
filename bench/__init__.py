"""Throughput, latency and bulk benchmarks against a bare-SDK baseline on the same server."""
