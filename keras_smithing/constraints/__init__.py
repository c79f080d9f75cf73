"""keras_smithing.constraints."""
