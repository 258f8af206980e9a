"""Contracts: workflow inputs and results, signal/update payloads, status snapshots, tables."""
