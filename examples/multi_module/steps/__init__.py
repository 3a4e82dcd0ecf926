"""Steps of the multi-module example, split by stage."""
