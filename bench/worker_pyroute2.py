"""Benchmark worker for pyroute2 (IPRoute), the usual rtnetlink library from Python.

Runs one case and prints one JSON result line, like the Node workers (WorkerSpec and
WorkerResult in bench/common.ts). The orchestrator starts it inside the test namespace
(bench/runner.c), so IPRoute() opens its socket there.

Usage: python3 bench/worker_pyroute2.py SPEC_JSON
"""

import json
import statistics
import struct
import sys
import time

from pyroute2 import IPRoute
from pyroute2.iproute.linux import IPBatch

BATCH = 64
FIRST_HOST = 10
KNI_ADDRESS = "192.0.2.79"
KNI_BROADCAST = "192.0.2.255"
KNI_GATEWAY = "192.0.2.1"
ROUTE_DESTINATION = "198.51.100.0/24"
NLMSG_ERROR = 2
HEADER = struct.Struct("=IHHII")


def host(offset):
    return "192.0.2.%d" % (FIRST_HOST + offset)


def time_loop(spec, loop):
    if spec["warmup"] > 0:
        loop(spec["warmup"])
    start = time.perf_counter_ns()
    loop(spec["count"])
    elapsed_us = (time.perf_counter_ns() - start) / 1e3
    return {"case": spec["case"], "operations": spec["count"], "usPerOperation": elapsed_us / spec["count"]}


def address_awaited(ipr, index):
    def loop(operations):
        for _ in range(0, operations, 2):
            ipr.addr("add", index=index, address=host(0), mask=24)
            ipr.addr("del", index=index, address=host(0), mask=24)

    return loop


def read_acks(ipr, expected):
    """Reads `expected` acks of a batch sent with sendto; raises on the first error ack."""
    while expected > 0:
        data = ipr.recv(65536)
        offset = 0
        while offset + HEADER.size <= len(data):
            length, kind, _flags, _sequence, _port = HEADER.unpack_from(data, offset)
            if kind == NLMSG_ERROR:
                (error,) = struct.unpack_from("=i", data, offset + HEADER.size)
                if error != 0:
                    raise OSError(-error, "batch request failed")
                expected -= 1
            offset += (length + 3) & ~3


def address_batch(ipr, index):
    """IPBatch compiles the requests into one buffer; IPRoute.sendto sends it in one call."""
    compiler = IPBatch()
    for offset in range(BATCH):
        compiler.addr("add", index=index, address=host(offset), mask=24)
    adds = compiler.batch
    compiler.reset()
    # Secondaries first: deleting the primary address takes the secondaries with it.
    for offset in reversed(range(BATCH)):
        compiler.addr("del", index=index, address=host(offset), mask=24)
    deletes = compiler.batch

    def loop(operations):
        for _ in range(0, operations, 2 * BATCH):
            ipr.sendto(adds, (0, 0))
            read_acks(ipr, BATCH)
            ipr.sendto(deletes, (0, 0))
            read_acks(ipr, BATCH)

    return loop


def route_awaited(ipr, index):
    def loop(operations):
        for i in range(operations):
            ipr.route("replace", dst=ROUTE_DESTINATION, oif=index, priority=i & 1, scope="link", proto="boot")

    return loop


def link_awaited(ipr, index):
    def loop(operations):
        for i in range(operations):
            ipr.link("set", index=index, state="up" if i & 1 else "down")
        ipr.link("set", index=index, state="up")

    return loop


def apply_case(ipr, index, spec, from_scratch):
    """pyroute2 has no converge engine: the runbook's three changes, or the three dumps."""

    def apply():
        ipr.link("set", index=index, state="up")
        ipr.addr("add", index=index, address=KNI_ADDRESS, mask=24, broadcast=KNI_BROADCAST)
        ipr.route("add", dst="default", gateway=KNI_GATEWAY, oif=index)

    def reset():
        try:
            ipr.addr("del", index=index, address=KNI_ADDRESS, mask=24)
        except Exception:
            pass
        ipr.link("set", index=index, state="down")

    def read_state():
        ipr.get_links()
        ipr.get_addr()
        ipr.get_routes(family=0)

    if not from_scratch:
        apply()
    times = []
    for i in range(spec["warmup"] + spec["count"]):
        if from_scratch:
            reset()
        start = time.perf_counter_ns()
        apply() if from_scratch else read_state()
        if i >= spec["warmup"]:
            times.append((time.perf_counter_ns() - start) / 1e3)
    reset()
    return {"case": spec["case"], "operations": spec["count"], "usPerOperation": statistics.median(times)}


def main():
    spec = json.loads(sys.argv[1])
    index = spec["ifindex"]
    with IPRoute() as ipr:
        case = spec["case"]
        if case == "address-awaited":
            result = time_loop(spec, address_awaited(ipr, index))
        elif case == "address-batch":
            result = time_loop(spec, address_batch(ipr, index))
        elif case == "route-awaited":
            result = time_loop(spec, route_awaited(ipr, index))
        elif case == "link-awaited":
            result = time_loop(spec, link_awaited(ipr, index))
        elif case == "apply-scratch":
            result = apply_case(ipr, index, spec, True)
        elif case == "apply-noop":
            result = apply_case(ipr, index, spec, False)
        else:
            raise SystemExit("unknown case %s" % case)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
