"""Benchmarks: ``make bench`` runs them all (see README, "Benchmarks"). Never part of the tests."""
