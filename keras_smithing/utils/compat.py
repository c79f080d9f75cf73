"""The only use of private Keras/KerasTuner internals.

Each private name the pack needs is wrapped here in one small function, with a
test in tests/utils/test_compat.py that fails loudly when a Keras or KerasTuner
upgrade changes the internal.
"""


def flatten_layers(layer, include_self=False):
    """Every layer nested in `layer` (sublayers of sublayers included), in order.

    Wraps `Layer._flatten_layers`: Keras has no public recursive equivalent
    (`Model.layers` lists only the direct children).

    Args:
        layer: A `keras.layers.Layer` (a `keras.Model` included).
        include_self: Whether `layer` itself comes first.

    Returns:
        A list of layers, each once.
    """
    return list(layer._flatten_layers(include_self=include_self, recursive=True))
