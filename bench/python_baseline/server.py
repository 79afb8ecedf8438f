#!/usr/bin/python3
"""The naive Python baseline of the SASRecLLM service: the same gRPC API
(sasrecllm.v1.Recommender, grpc.health.v1.Health) over the same model bundle,
built the way most teams would first write it. See README.md.

    /usr/bin/python3 bench/python_baseline/server.py --bundle build-collm/collm/bundle \
        --port 50061 --threads 8

Start-up: load the bundle, warm up, serve, print "listening on HOST:PORT" on
stderr. SIGTERM / SIGINT: health NOT_SERVING, stop taking RPCs, let running
ones finish (up to --drain-timeout-s), exit 0.
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402
import torch  # noqa: E402

import protos  # noqa: E402
from bundle import Bundle  # noqa: E402
from service import RecommenderService, RpcError  # noqa: E402

SERVICE_NAME = "sasrecllm.v1.Recommender"
HEALTH_SERVICE_NAME = "grpc.health.v1.Health"


def parse_flags(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", required=True, help="model bundle folder")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")
    p.add_argument("--port", type=int, default=50061, help="gRPC port; 0 picks a free one (default: 50061)")
    p.add_argument("--threads", type=int, default=8,
                   help="gRPC worker threads = requests handled at once, each on its own "
                        "thread (default: 8)")
    p.add_argument("--torch-threads", type=int, default=0,
                   help="torch intra-op threads, shared by all workers; 0 = cores - 1, at "
                        "least 1, the C++ server's default (default: 0)")
    p.add_argument("--retrieval-k", type=int, default=20,
                   help="SASRec candidates re-ranked by the LLM (default: 20)")
    p.add_argument("--max-top-k", type=int, default=1000, help="largest top_k (default: 1000)")
    p.add_argument("--max-candidates", type=int, default=1000,
                   help="most candidates per request (default: 1000)")
    p.add_argument("--max-history", type=int, default=0,
                   help="longest history a request may send; 0 = the manifest's max_history")
    p.add_argument("--drain-timeout-s", type=float, default=30.0,
                   help="on SIGTERM/SIGINT, how long running RPCs may take (default: 30)")
    flags = p.parse_args(argv)
    for name in ("threads", "retrieval_k", "max_top_k", "max_candidates"):
        if getattr(flags, name) < 1:
            p.error(f"--{name.replace('_', '-')}={getattr(flags, name)}: must be >= 1")
    if flags.torch_threads < 0 or flags.max_history < 0:
        p.error("--torch-threads and --max-history must be >= 0")
    return flags


def unary(fn, request_class):
    """A gRPC handler for fn(request) -> response: RpcError -> its status,
    anything else -> INTERNAL."""

    def handle(request, context):
        try:
            return fn(request)
        except RpcError as e:
            context.abort(e.code, str(e))
        except Exception as e:  # noqa: BLE001 - report, never kill the worker
            context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

    return grpc.unary_unary_rpc_method_handler(
        handle, request_deserializer=request_class.FromString,
        response_serializer=lambda message: message.SerializeToString())


class Health:
    """grpc.health.v1.Health: "" and sasrecllm.v1.Recommender are known."""

    def __init__(self, health_pb2):
        self.pb2 = health_pb2
        self.serving = False
        self.changed = threading.Condition()

    def set_serving(self, serving):
        with self.changed:
            self.serving = serving
            self.changed.notify_all()

    def _status(self, service):
        r = self.pb2.HealthCheckResponse
        if service not in ("", SERVICE_NAME):
            return r.SERVICE_UNKNOWN
        return r.SERVING if self.serving else r.NOT_SERVING

    def check(self, request, context):
        status = self._status(request.service)
        if status == self.pb2.HealthCheckResponse.SERVICE_UNKNOWN:
            context.abort(grpc.StatusCode.NOT_FOUND, f'unknown service "{request.service}"')
        return self.pb2.HealthCheckResponse(status=status)

    def watch(self, request, context):
        last = None
        while context.is_active():
            status = self._status(request.service)
            if status != last:
                last = status
                yield self.pb2.HealthCheckResponse(status=status)
            with self.changed:
                self.changed.wait(timeout=1.0)

    def handler(self):
        req = self.pb2.HealthCheckRequest
        ser = lambda message: message.SerializeToString()  # noqa: E731
        return grpc.method_handlers_generic_handler(HEALTH_SERVICE_NAME, {
            "Check": grpc.unary_unary_rpc_method_handler(
                self.check, request_deserializer=req.FromString, response_serializer=ser),
            "Watch": grpc.unary_stream_rpc_method_handler(
                self.watch, request_deserializer=req.FromString, response_serializer=ser),
        })


def warm_up(service, pb2):
    """One request per path so that the first real one pays no lazy set-up."""
    ids = [e.item_id for e in service.bundle.catalog.entries[:service.max_history]]
    service.recommend(pb2.RecommendRequest(history=ids, mode=pb2.RANKING_MODE_SEQUENTIAL_ONLY))
    service.score(pb2.ScoreRequest(history=ids, candidates=ids[:1]))
    if service.bundle.has_llm:
        service.recommend(pb2.RecommendRequest(history=ids, mode=pb2.RANKING_MODE_HYBRID))


def main(argv):
    flags = parse_flags(argv)
    torch_threads = flags.torch_threads or max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(torch_threads)
    sasrecllm_pb2, health_pb2 = protos.load()

    started = time.monotonic()
    try:
        bundle = Bundle.load(flags.bundle)
    except (OSError, ValueError, KeyError) as e:
        print(f"server.py: cannot load bundle {flags.bundle}: {e}", file=sys.stderr)
        return 1
    service = RecommenderService(bundle, sasrecllm_pb2, retrieval_k=flags.retrieval_k,
                                 max_top_k=flags.max_top_k, max_candidates=flags.max_candidates,
                                 max_history=flags.max_history or None)
    warm_up(service, sasrecllm_pb2)
    print(f"loaded {bundle.model_version} (llm: {bundle.has_llm}) in "
          f"{time.monotonic() - started:.1f} s; {flags.threads} gRPC threads, "
          f"{torch_threads} torch threads", file=sys.stderr)

    health = Health(health_pb2)
    m = sasrecllm_pb2
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=flags.threads),
                         options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers([
        grpc.method_handlers_generic_handler(SERVICE_NAME, {
            "Recommend": unary(service.recommend, m.RecommendRequest),
            "Score": unary(service.score, m.ScoreRequest),
            "GetModelInfo": unary(service.get_model_info, m.GetModelInfoRequest),
        }),
        health.handler(),
    ])
    address = f"{flags.host}:{flags.port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        print(f"server.py: cannot listen on {address}", file=sys.stderr)
        return 1
    server.start()
    health.set_serving(True)
    print(f"listening on {flags.host}:{port}", file=sys.stderr, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(timeout=1.0):
        pass
    print("draining", file=sys.stderr)
    health.set_serving(False)
    server.stop(grace=flags.drain_timeout_s).wait()
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
