"""keras_smithing.pretraining."""
