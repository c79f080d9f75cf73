"""keras_smithing.callbacks."""
