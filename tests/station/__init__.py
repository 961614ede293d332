"""Tests of the station calendar."""
