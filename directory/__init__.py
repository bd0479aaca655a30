"""The service directory: models, bundled data, store functions and the matcher."""
