"""grpc_pair: a gRPC client/server pair in grpc.aio.

Importing the package first generates the Python code for ``inventory.proto`` (see codegen.py),
so ``from ._generated import inventory_pb2`` works in every module of the kata.
"""

from .codegen import ensure_generated

_elsewhere = ensure_generated(__name__)
if _elsewhere is not None:
    __path__.insert(0, str(_elsewhere))
