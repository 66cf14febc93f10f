"""ONNX export: writing a checkpoint's graphs (``export``) and the graph specs (``graphs``). The
``onnx`` package (the ``seqkit[onnx]`` extra) is imported only when exporting.
"""
