"""The long schemathesis run against a real `opsplan serve` over HTTP (issue 9, item 7).

One `opsplan serve` on a free port (1 s collection interval, fake GPUs, a MariaDB and a service that
refuse connections, so alerts are pending and notices are rendered) and an operator made with
`opsplan user add`. schemathesis' engine runs every phase (examples, coverage, fuzzing, stateful) over
`/api/v1/openapi.json` with valid and invalid input, as three callers: anonymous, the operator's write
token (`opsplan user token create --scope write`), and the operator's console session (logged in
through /login, with its CSRF header and Origin); then `/healthz` must still answer and the serve log
must hold no traceback and no ERROR line.

    PYTHONPATH=src .venv/bin/python bench/fuzz_api.py [--examples 300] [--seed 9] [--json out.json]

Exit status 1 when any answer was a 5xx, a check failed, an anonymous write was not refused with
401/403, or the log holds a traceback. The in-suite version (in-process, 20 examples) is
tests/integration/test_api_fuzz.py.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import api_fuzz  # noqa: E402
from serve_process import OPSPLAN, add_user, logged_in, start_serve, wait_for_cycles  # noqa: E402
from yaml_writer import four_gpus, free_port, write_plan  # noqa: E402

TOKEN = "bench-fuzz-t0ken"  # the shared token (deprecated), configured so wrong tokens meet a real compare
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def write_token(plan: Path) -> str:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), "user", "token", "create", "fuzzer", "--scope", "write",
                           "--json"], capture_output=True, text=True, timeout=120, check=True)
    return str(json.loads(done.stdout)["token"])


def callers(plan: Path, url: str) -> dict[str, dict[str, str] | None]:
    token = write_token(plan)
    browser = logged_in(url, "fuzzer")
    csrf = CSRF.search(browser.get("alerts").text)
    assert csrf is not None, "the operator's alerts page carries no CSRF token"
    return {"anonymous": None, "user-token": {"Authorization": f"Bearer {token}"},
            "session": {"Cookie": f"opsplan_session={browser.cookies['opsplan_session']}",
                        "X-CSRF-Token": csrf.group(1), "Origin": url.rstrip("/")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=300, help="max examples per operation and phase")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opsplan-fuzz-") as tmp:
        work = Path(tmp)
        plan = write_plan(work, {
            "monitoring": {"interval": "1s"},
            "database": {"port": free_port(), "connect_timeout": "1s"},
            "services": [{"name": "llm-api", "group": "app", "timeout": "1s",
                          "url": f"http://127.0.0.1:{free_port()}/health"}],
        })
        add_user(plan, "fuzzer", "operator")
        proc, url = start_serve(plan, env={"OPSPLAN_FAKE_NVML": str(four_gpus(work)), "OPSPLAN_API_TOKEN": TOKEN})
        report = api_fuzz.FuzzReport()
        anonymous_writes_let_in: dict[str, int] = {}
        began = time.monotonic()
        try:
            wait_for_cycles(url, 2)
            who = callers(plan, url)
            # The schema is served to logged-in users only (web/api_docs.py): read it with the token.
            document = httpx.get(url + "api/v1/openapi.json", headers=who["user-token"], timeout=10).json()
            for caller, headers in who.items():
                schema = api_fuzz.from_document(document, drop_header="authorization" if caller == "session" else None)
                api_fuzz.configure(schema, max_examples=args.examples, seed=args.seed, headers=headers,
                                   base_url=url.rstrip("/"))
                one = api_fuzz.run(schema)
                if caller == "anonymous":
                    anonymous_writes_let_in = {f"{op} {status}": n for (op, status), n in one.statuses.items()
                                               if op in one.unsafe_operations and status not in (401, 403)}
                report.merge(one)
            health = httpx.get(url + "healthz", timeout=5)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        seconds = time.monotonic() - began
        log = (work / "opsplan.log").read_text(encoding="utf-8", errors="replace")

    tracebacks = log.count("Traceback (most recent call last)")
    # The plan's MariaDB refuses connections on purpose, so the scheduled backup's failure is expected.
    error_lines = [line for line in log.splitlines()
                   if re.search(r"\bERROR\b", line) and not re.search(r"\bERROR opsplan\.backup\.", line)]
    figures = {
        "examples_per_operation": args.examples, "seed": args.seed, "seconds": round(seconds, 1),
        "operations": len(report.operations), "requests": report.requests,
        "server_errors": report.server_errors, "check_failures": len(report.failures),
        "app_errors": len(report.errors), "fuzzer_errors": len(report.fuzzer_errors),
        "anonymous_writes_not_refused": anonymous_writes_let_in,
        "log_tracebacks": tracebacks, "log_error_lines": len(error_lines),
        "healthz_after": health.status_code,
        "statuses": {f"{op} {status}": n for (op, status), n in sorted(report.statuses.items())},
    }
    print(json.dumps({k: v for k, v in figures.items() if k != "statuses"}, indent=2))
    for line in (*report.failures, *report.errors, *error_lines[:20]):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    bad = (report.server_errors or report.failures or report.errors or tracebacks or error_lines
           or anonymous_writes_let_in)
    return 1 if bad or health.status_code != 200 else 0


if __name__ == "__main__":
    sys.exit(main())
