"""Pure rules used by workflows: no I/O, no clock, deterministic."""
