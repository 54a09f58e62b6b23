"""The corpus both search engines index: 40 short articles in four categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Article:
    id: str
    category: str
    published: date
    title: str
    body: str
    tags: tuple[str, ...] = ()


def _a(id: str, category: str, published: str, title: str, body: str, *tags: str) -> Article:
    return Article(id, category, date.fromisoformat(published), title, body, tags)


CORPUS: tuple[Article, ...] = (
    # databases
    _a("d01", "databases", "2024-02-10", "PostgreSQL streaming replication explained",
       "A standby server replays the write-ahead log shipped from the primary. A slot keeps "
       "the WAL until every standby has it.", "postgresql", "ha"),
    _a("d02", "databases", "2023-03-14", "Choosing a primary key",
       "Natural keys change; surrogate keys do not. PostgreSQL identity columns are the modern "
       "way to generate them.", "postgresql", "modeling"),
    _a("d03", "databases", "2024-01-20", "Understanding B-tree indexes",
       "A B-tree index keeps keys sorted, so equality and range queries touch few pages. Every "
       "index slows writes a little.", "postgresql", "performance"),
    _a("d04", "databases", "2023-09-02", "High availability for databases",
       "Synchronous replication waits for a standby to confirm each commit; asynchronous "
       "replication does not, and may lose the last transactions in a failover.", "ha"),
    _a("d05", "databases", "2024-03-18", "Vacuum and autovacuum",
       "Autovacuum runs in the background and removes dead row versions so tables stop "
       "growing.", "postgresql", "maintenance"),
    _a("d06", "databases", "2024-04-22", "Sizing a connection pool",
       "A connection pool keeps a few server connections open and lends them to requests. "
       "PgBouncer is a popular choice for PostgreSQL.", "postgresql", "performance"),
    _a("d07", "databases", "2023-11-05", "Too many clients",
       "Each backend process costs memory, so keep a small pool of connections per "
       "application instance.", "postgresql"),
    _a("d08", "databases", "2024-05-30", "Partial and expression indexes",
       "An index on lower(email) serves case-insensitive lookups; a partial index covers only "
       "the rows a query needs.", "postgresql", "performance"),
    _a("d09", "databases", "2024-06-12", "MongoDB replica sets",
       "A replica set elects a new primary when the old one fails; MongoDB replication is "
       "asynchronous by default.", "mongodb", "ha"),
    _a("d10", "databases", "2023-06-19", "Redis as a message broker",
       "Redis streams give consumer groups and acknowledgements, enough for many background "
       "job queues.", "redis"),
    _a("d11", "databases", "2024-07-08", "Full-text search in PostgreSQL",
       "A tsvector column with a GIN index answers word queries quickly, and ts_rank orders "
       "the results by relevance.", "postgresql", "search"),
    _a("d12", "databases", "2023-04-27", "Document stores and flexible schemas",
       "MongoDB stores JSON-like documents; validate the shared fields and let the rest vary.",
       "mongodb", "modeling"),
    # python
    _a("p01", "python", "2023-02-08", "Python type hints in practice",
       "Annotate public functions first; mypy then catches the mistakes that tests miss.",
       "typing"),
    _a("p02", "python", "2024-02-27", "Asyncio for network services",
       "An event loop serves thousands of sockets in one thread, as long as no coroutine "
       "blocks it.", "asyncio"),
    _a("p03", "python", "2023-07-15", "Running Python scripts on a schedule",
       "Cron starts the interpreter at fixed times; a lock file stops two copies from "
       "overlapping.", "automation"),
    _a("p04", "python", "2024-08-03", "Packaging with pyproject.toml",
       "Declare metadata and dependencies in one file; build backends such as hatchling read "
       "it.", "packaging"),
    _a("p05", "python", "2023-10-11", "Dataclasses versus Pydantic",
       "Dataclasses hold data; Pydantic also validates and converts it at the boundary of your "
       "Python service.", "validation"),
    _a("p06", "python", "2024-09-16", "Profiling slow Python code",
       "Measure before optimising: cProfile shows where the time goes, and the answer is "
       "rarely where you guessed.", "performance"),
    _a("p07", "python", "2023-05-21", "Context managers",
       "The with statement guarantees cleanup, even when an exception escapes the block.",
       "language"),
    _a("p08", "python", "2024-10-04", "Generators and lazy pipelines",
       "A generator yields one item at a time, so a pipeline over a huge file needs little "
       "memory.", "language"),
    _a("p09", "python", "2023-12-09", "Testing with pytest fixtures",
       "Fixtures build what a test needs and tear it down afterwards; parametrize repeats one "
       "test over many inputs.", "testing"),
    _a("p10", "python", "2024-11-19", "Talking to PostgreSQL from Python",
       "psycopg 3 sends parameters separately from the SQL text, which prevents injection.",
       "postgresql"),
    # devops
    _a("o01", "devops", "2024-01-09", "Kubernetes deployments",
       "A Kubernetes deployment keeps the requested number of pods alive and rolls out new "
       "versions gradually.", "kubernetes"),
    _a("o02", "devops", "2023-08-23", "Docker images that stay small",
       "Use a slim base image, copy only what the app needs, and run the container as a "
       "non-root user.", "docker"),
    _a("o03", "devops", "2024-03-05", "Infrastructure as code with Terraform",
       "Terraform plans show the change before it happens; keep the state file in a locked "
       "remote backend.", "terraform"),
    _a("o04", "devops", "2023-10-30", "Health checks and probes",
       "Kubernetes restarts a pod whose liveness probe fails and stops routing traffic to a pod "
       "that is not ready.", "kubernetes", "reliability"),
    _a("o05", "devops", "2024-05-14", "Scaling workers on k8s",
       "The horizontal autoscaler adds k8s pods when CPU usage stays high and removes them when "
       "load drops.", "kubernetes", "performance"),
    _a("o06", "devops", "2023-01-17", "Structured logging",
       "Emit JSON log lines with a request id so one search finds every line of a request.",
       "observability"),
    _a("o07", "devops", "2024-06-27", "A self-hosted CI runner",
       "The runner picks up jobs from the queue and reports results back to the server.",
       "ci"),
    _a("o08", "devops", "2023-06-02", "Blue-green releases",
       "Two identical environments let you switch traffic at once and switch back if the "
       "release misbehaves.", "deployment"),
    _a("o09", "devops", "2024-07-21", "Backups you have restored",
       "A backup is only proven once restored; rehearse the restore of your PostgreSQL "
       "database every month.", "postgresql", "reliability"),
    _a("o10", "devops", "2023-09-12", "Metrics with Prometheus",
       "Prometheus scrapes counters and histograms; alert on symptoms users feel, not on every "
       "cause.", "observability"),
    # web
    _a("w01", "web", "2023-03-29", "REST resource design",
       "Name resources with nouns, use HTTP methods for verbs, and return 201 with a Location "
       "header after a create.", "http", "api"),
    _a("w02", "web", "2024-02-14", "Idempotency keys",
       "Clients resend a request with the same key; the server stores the first response and "
       "replays it.", "api", "reliability"),
    _a("w03", "web", "2024-04-03", "Pagination with cursors",
       "Offset pagination skips rows it still reads; a cursor on an indexed column jumps "
       "straight to the next page.", "api", "performance"),
    _a("w04", "web", "2023-11-24", "Smaller frontend bundles",
       "Split the JS bundle by route so the first page loads only the code it needs.",
       "frontend"),
    # w05 and w06 are twins: the same words in the same places, so they score exactly alike
    _a("w05", "web", "2024-08-19", "Cache API responses",
       "Cache responses at the edge to cut latency for every user.", "http"),
    _a("w06", "web", "2024-09-25", "Cache HTML fragments",
       "Cache fragments at the edge to cut latency for every page.", "performance"),
    _a("w07", "web", "2023-05-08", "Rate limiting an API",
       "A token bucket per client allows short bursts and keeps the average rate under the "
       "limit.", "api", "reliability"),
    _a("w08", "web", "2024-12-01", "Sessions or tokens",
       "Server-side sessions are easy to revoke; signed tokens need no lookup but live until "
       "they expire.", "security"),
)  # fmt: skip
