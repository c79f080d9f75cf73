"""TensorBoard event files without TensorFlow."""

import time

import numpy as np


class SummaryWriter:
    """A TensorBoard event-file writer for scalars and histograms.

    Writes `Event` protocol buffers with the `tensorboard` package alone (as
    `torch.utils.tensorboard` does), so it works on every Keras backend with or
    without TensorFlow installed.

    Args:
        log_dir: Directory of the event files.
        num_buckets: Number of histogram buckets.
    """

    def __init__(self, log_dir, num_buckets=30):
        # Imported here: tensorboard.compat loads TensorFlow when it is installed,
        # and `import keras_smithing` must not on the other backends.
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._writer = EventFileWriter(log_dir)
        self._num_buckets = num_buckets

    def write(self, step, scalars=None, histograms=None):
        """Writes `{tag: float}` scalars and `{tag: array}` histograms at `step`."""
        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = [
            summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in (scalars or {}).items()
        ]
        values += [
            summary_pb2.Summary.Value(tag=tag, histo=self._histogram(array))
            for tag, array in (histograms or {}).items()
        ]
        event = event_pb2.Event(
            wall_time=time.time(),
            step=int(step),
            summary=summary_pb2.Summary(value=values),
        )
        self._writer.add_event(event)
        self._writer.flush()

    def _histogram(self, array):
        from tensorboard.compat.proto import summary_pb2

        array = np.asarray(array, dtype="float64").ravel()
        array = array[np.isfinite(array)]
        if array.size == 0:
            return summary_pb2.HistogramProto()
        counts, edges = np.histogram(array, bins=self._num_buckets)
        return summary_pb2.HistogramProto(
            min=float(array.min()),
            max=float(array.max()),
            num=float(array.size),
            sum=float(array.sum()),
            sum_squares=float(np.dot(array, array)),
            bucket_limit=edges[1:].tolist(),
            bucket=counts.astype("float64").tolist(),
        )

    def close(self):
        """Closes the event file."""
        self._writer.close()
