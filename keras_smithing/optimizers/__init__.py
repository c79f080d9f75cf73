"""keras_smithing.optimizers."""
