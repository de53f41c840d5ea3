"""One message catalogue for everything opsplan says to a person, in Korean and English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "status.title": {"ko": "opsplan 상태", "en": "opsplan status"},
    "status.server": {"ko": "서버", "en": "Server"},
    "status.last_cycle": {"ko": "마지막 수집", "en": "Last collection"},
    "status.never": {"ko": "아직 없음", "en": "not yet"},
    "status.groups": {"ko": "자원 할당 그룹", "en": "Allocation groups"},
    "status.gpus": {"ko": "GPU", "en": "GPUs"},
    "status.gpu_missing": {"ko": "보이지 않음", "en": "missing"},
    "status.utilization": {"ko": "사용률", "en": "Utilization"},
    "status.memory": {"ko": "메모리", "en": "Memory"},
    "status.storage": {"ko": "스토리지", "en": "Storage"},
    "status.temperature": {"ko": "온도", "en": "Temperature"},
    "status.power": {"ko": "전력", "en": "Power"},
    "status.system": {"ko": "시스템", "en": "System"},
    "status.cpu": {"ko": "CPU", "en": "CPU"},
    "status.swap": {"ko": "스왑", "en": "Swap"},
    "status.network": {"ko": "네트워크", "en": "Network"},
    "status.gpus_seen": {"ko": "보이는 GPU / 계획상 GPU", "en": "GPUs visible / in the plan"},
    "status.disk": {"ko": "디스크", "en": "Disk"},
    "status.services": {"ko": "서비스", "en": "Services"},
    "status.service": {"ko": "서비스", "en": "Service"},
    "status.up": {"ko": "정상", "en": "up"},
    "status.down": {"ko": "중단", "en": "down"},
    "status.unknown": {"ko": "알 수 없음", "en": "unknown"},
    "status.response_time": {"ko": "응답 시간 (p95)", "en": "Response time (p95)"},
    "status.error_rate": {"ko": "에러율", "en": "Error rate"},
    "status.throughput": {"ko": "처리량", "en": "Throughput"},
    "status.users": {"ko": "동시 사용자", "en": "Concurrent users"},
    "status.database": {"ko": "데이터베이스", "en": "Database"},
    "status.connections": {"ko": "연결", "en": "Connections"},
    "status.qps": {"ko": "초당 쿼리", "en": "Queries/s"},
    "status.collectors": {"ko": "수집기", "en": "Collectors"},
    "status.no_gpu": {"ko": "NVIDIA 드라이버 없음: GPU를 볼 수 없습니다", "en": "No NVIDIA driver: no GPU is visible"},
    "serve.started": {"ko": "opsplan 실행 중: {url}", "en": "opsplan serving on {url}"},
    "serve.stopped": {"ko": "opsplan 종료", "en": "opsplan stopped"},
    "serve.public_bind": {
        "ko": "경고: {bind} 에 바인딩합니다. 인증이 없으므로 이 주소에 닿는 누구나 상태를 볼 수 있습니다.",
        "en": "warning: binding to {bind}; there is no authentication yet, anyone who reaches it can read the status.",
    },
    "collect.cycle": {"ko": "수집 {n}개 샘플, {seconds:.2f}초", "en": "collected {n} samples in {seconds:.2f}s"},
    "export.done": {"ko": "{out} 에 파일 {n}개를 썼습니다 (이전 내보내기에서 지운 파일 {removed}개)",
                    "en": "wrote {n} files under {out} ({removed} left over from an earlier export removed)"},
}


def t(key: str, language: str = "en", **values: object) -> str:
    entry = MESSAGES[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text
