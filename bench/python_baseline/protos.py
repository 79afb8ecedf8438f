"""Message classes for proto/sasrecllm.proto and proto/health.proto, generated
at start-up with `protoc --python_out` into a temporary folder (Debian's
python3-grpc-tools is too old to rely on, and no *_pb2_grpc is needed: the
server registers its handlers with grpc.method_handlers_generic_handler).

    sasrecllm_pb2, health_pb2 = protos.load()
"""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile

PROTO_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto"))


def load(proto_dir=PROTO_DIR):
    """Returns (sasrecllm_pb2, health_pb2). Raises RuntimeError when protoc
    is missing or fails."""
    if shutil.which("protoc") is None:
        raise RuntimeError("protoc not found (apt-get install protobuf-compiler)")
    out = tempfile.mkdtemp(prefix="sasrecllm_py_protos_")
    cmd = ["protoc", f"-I{proto_dir}", f"--python_out={out}",
           os.path.join(proto_dir, "sasrecllm.proto"), os.path.join(proto_dir, "health.proto")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    sys.path.insert(0, out)
    try:
        return importlib.import_module("sasrecllm_pb2"), importlib.import_module("health_pb2")
    finally:
        sys.path.remove(out)
        shutil.rmtree(out, ignore_errors=True)  # the modules are already imported
