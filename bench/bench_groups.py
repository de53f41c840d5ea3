"""CPU per cycle of the group members' collectors (cgroups, Docker), against the system collector.

The anchor is what every cycle already pays to read the host (`SystemCollector`: /proc and
psutil), in the same process and run; the result is a ratio. Two configurations:

- the plan `opsplan init` writes (no group names members): no groups or containers collector
  is built at all, so the cost is 0;
- a tuned plan: `--members` cgroups holding a small process each (real cgroups under
  /sys/fs/cgroup; needs root) split over the two groups, and `--containers` containers answered
  by the stand-in Engine API on a unix socket, in its own process so its CPU does not count.

    .venv/bin/python bench/bench_groups.py [--rounds 5] [--cycles 200] [--members 4] [--containers 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cgroup_sandbox import CgroupSandbox  # noqa: E402
from opsplan.collectors.build import member_collectors  # noqa: E402
from opsplan.collectors.members import memory_rollup  # noqa: E402
from opsplan.collectors.system import SystemCollector  # noqa: E402
from opsplan.plan.models import Docker, GroupMember, Plan  # noqa: E402

ENGINE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from http_stubs import DockerEngine
DockerEngine(Path(sys.argv[2]), json.loads(sys.argv[3]))
print("ready", flush=True)
sys.stdin.read()
"""


def cpu_ms_per_call(fn, calls: int) -> float:
    before = time.process_time()
    for _ in range(calls):
        fn()
    return 1000 * (time.process_time() - before) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--containers", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    default_collectors = member_collectors(Plan())
    sandbox = CgroupSandbox()
    reason = sandbox.unavailable()
    if reason:
        sandbox.remove()
        sys.exit(f"bench_groups: {reason}")
    workdir = Path(tempfile.mkdtemp(prefix="opsplan-bench-groups-"))
    engine = None
    try:
        members = []
        for i in range(args.members):
            sandbox.start(f"member{i}", 8)
            members.append(GroupMember(cgroup=f"/{sandbox.slice}/member{i}"))
        containers = []
        for i in range(args.containers):
            cid = secrets.token_hex(32)
            sandbox.start(f"docker/{cid}", 8)
            containers.append({"Id": cid, "Name": f"/c{i}", "RestartCount": 0,
                               "State": {"Running": True, "Health": {"Status": "healthy"}},
                               "HostConfig": {"CgroupParent": f"/{sandbox.slice}/docker"}})
            members.append(GroupMember(container=f"c{i}"))
        socket = workdir / "docker.sock"
        engine = subprocess.Popen([sys.executable, "-c", ENGINE, str(ROOT / "tests"), str(socket),
                                   json.dumps(containers)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert engine.stdout is not None and engine.stdout.readline().strip() == "ready"

        plan = Plan()
        plan.allocation[0].members = members[::2]
        plan.allocation[1].members = members[1::2]
        plan.monitoring.docker = Docker(socket=socket)
        tuned = member_collectors(plan)
        system = SystemCollector()

        def tuned_cycle() -> None:
            samples = [s for c in tuned for s in c.collect()]
            memory_rollup(plan, samples)

        tuned_cycle()
        system.collect()  # first reads warm caches on both sides
        series = len([s for c in tuned for s in c.collect()])
        rounds = []
        for _ in range(args.rounds):
            anchor = cpu_ms_per_call(system.collect, args.cycles)
            ours = cpu_ms_per_call(tuned_cycle, args.cycles)
            rounds.append({"system_ms": anchor, "groups_ms": ours, "ratio": ours / anchor})
        result = {
            "default_plan_collectors": len(default_collectors),
            "members": args.members, "containers": args.containers, "series": series,
            "system_ms": statistics.median(r["system_ms"] for r in rounds),
            "groups_ms": statistics.median(r["groups_ms"] for r in rounds),
            "ratio": statistics.median(r["ratio"] for r in rounds),
            "ratio_range": [min(r["ratio"] for r in rounds), max(r["ratio"] for r in rounds)],
        }
        for collector in tuned:
            close = getattr(collector, "close", None)
            if close:
                close()
    finally:
        if engine is not None:
            engine.kill()
            engine.wait()
        sandbox.remove()
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
