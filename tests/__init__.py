"""The test suite; helpers shared by its folders are in tests.support."""
