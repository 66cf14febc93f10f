"""Training: the Trainer and its state (``trainer``, ``state``), its settings (``config``), batches,
the run folder, signals, distributed runs, losses, memory models and their streams (``streaming``,
``token_streams``), the TensorBoard sink, the loss plot, and the train command kit (``kit``).
"""
