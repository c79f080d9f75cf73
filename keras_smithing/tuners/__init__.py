"""keras_smithing.tuners."""
