"""The deploy rewrite: dynamic ops to static twins, BatchNorm folded, shift lowering per back end."""
