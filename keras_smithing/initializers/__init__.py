"""keras_smithing.initializers."""
