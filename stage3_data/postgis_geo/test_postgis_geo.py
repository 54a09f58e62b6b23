"""PostGIS kata: each test gets a fresh database with PostGIS (skipped where the server has none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from shapely.geometry import Point
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session

from katas.kit import plan_nodes

from .places import (
    INDEX_NAME,
    Base,
    add_places,
    cafes_within,
    create_geog_index,
    generate_docks,
    in_district,
    nearest,
    within_radius,
)

# Named places in Paris as (name, kind, longitude, latitude): WGS 84, longitude first.
PARIS = [
    ("Café de Flore", "cafe", 2.33262, 48.85406),
    ("Les Deux Magots", "cafe", 2.33330, 48.85400),
    ("Le Procope", "cafe", 2.33874, 48.85301),
    ("Café de la Paix", "cafe", 2.33157, 48.87086),
    ("Café des Deux Moulins", "cafe", 2.33367, 48.88478),
    ("La Rotonde", "cafe", 2.32933, 48.84226),
    ("Le Nemours", "cafe", 2.33617, 48.86303),
    ("Café Charlot", "cafe", 2.36337, 48.86157),
    ("Eiffel Tower", "sight", 2.29450, 48.85826),
    ("Louvre Pyramid", "sight", 2.33584, 48.86103),
    ("Notre-Dame", "sight", 2.34996, 48.85297),
    ("Panthéon", "sight", 2.34610, 48.84620),
    ("Sacré-Cœur", "sight", 2.34306, 48.88673),
]
PONT_DES_ARTS = (2.33750, 48.85830)
ODEON = (2.33977, 48.85205)
# Saint-Germain-des-Prés, simplified; its eastern corner is Le Procope's doorstep.
SAINT_GERMAIN = (
    "POLYGON((2.3270 48.8510, 2.3375 48.8510, 2.33874 48.85301, 2.3375 48.8578, "
    "2.3270 48.8560, 2.3270 48.8510))"
)


@pytest.fixture
def engine(postgis_url: str) -> Iterator[Engine]:
    engine = create_engine(make_url(postgis_url).set(drivername="postgresql+psycopg"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        add_places(session, PARIS)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


def metres(rows: list[tuple[str, float]]) -> list[tuple[str, object]]:
    return [(name, pytest.approx(distance, abs=1.0)) for name, distance in rows]


@pytest.mark.task(1)
def test_within_radius_returns_places_nearest_first_in_metres(conn: Connection) -> None:
    got = within_radius(conn, *PONT_DES_ARTS, 1000)
    assert got == metres(
        [
            ("Louvre Pyramid", 327.1),
            ("Le Nemours", 535.0),
            ("Les Deux Magots", 568.9),
            ("Café de Flore", 592.1),
            ("Le Procope", 595.3),
        ]
    ), (
        "geography measures metres on the spheroid; a point is ST_MakePoint(lon, lat) — "
        "longitude first — with SRID 4326; nearest first"
    )
    assert [name for name, _ in within_radius(conn, *PONT_DES_ARTS, 330)] == ["Louvre Pyramid"]
    assert within_radius(conn, *PONT_DES_ARTS, 300) == [], "300 m reaches nothing"


@pytest.mark.task(1)
def test_within_radius_includes_its_bound_and_breaks_ties_by_name(
    engine: Engine, conn: Connection
) -> None:
    flore = next((lon, lat) for name, _, lon, lat in PARIS if name == "Café de Flore")
    assert metres(within_radius(conn, *flore, 0)) == [("Café de Flore", 0.0)], (
        "within 0 m of a place is that place: the radius is inclusive (ST_DWithin), "
        "not ST_Distance(...) < metres"
    )
    with Session(engine) as session:  # two kiosks on one spot, the later name added first
        add_places(session, [("Kiosk B", "kiosk", 2.3300, 48.8600)])
        add_places(session, [("Kiosk A", "kiosk", 2.3300, 48.8600)])
    assert within_radius(conn, 2.3300, 48.8600, 1) == [("Kiosk A", 0.0), ("Kiosk B", 0.0)], (
        "equally near: by name (ORDER BY metres, name)"
    )


def sent_by(conn: Connection, call: Callable[[], object]) -> list[tuple[str, Any]]:
    """``(statement, parameters)`` of everything ``call`` sends on ``conn``."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))

    event.listen(conn.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(conn.engine, "before_cursor_execute", record)
    return sent


@pytest.mark.task(1)
def test_within_radius_binds_its_values_as_parameters(conn: Connection) -> None:
    sent = sent_by(conn, lambda: within_radius(conn, 2.3456789, 48.8567891, 432.1))
    assert sent, "the function should run its query on the connection it is given"
    statement = sent[-1][0]
    for value in ("2.3456789", "48.8567891", "432.1"):
        assert value not in statement, (
            f"text() with named parameters (:lon, :lat, :metres), not {value} pasted into the "
            f"SQL: {statement}"
        )


@pytest.mark.task(2)
def test_nearest_orders_by_distance_and_stops_at_k(conn: Connection) -> None:
    assert nearest(conn, *ODEON, 3) == metres(
        [("Le Procope", 130.8), ("Les Deux Magots", 522.0), ("Café de Flore", 570.3)]
    ), "the k nearest, nearest first, with their distance in metres"
    assert len(nearest(conn, *ODEON, 20)) == len(PARIS), "k larger than the table: every place"


@pytest.mark.task(3)
def test_district_covers_its_places_boundary_included(conn: Connection) -> None:
    assert in_district(conn, SAINT_GERMAIN) == ["Café de Flore", "Le Procope", "Les Deux Magots"], (
        "ST_Covers(district, geog): Le Procope sits on the boundary and counts; ST_Contains "
        "would drop it (and exists for geometry only)"
    )
    far_away = "POLYGON((2.0 48.0, 2.1 48.0, 2.1 48.1, 2.0 48.1, 2.0 48.0))"
    assert in_district(conn, far_away) == []
    statement = sent_by(conn, lambda: in_district(conn, SAINT_GERMAIN))[-1][0]
    assert "POLYGON" not in statement, (
        f"the polygon is a bound parameter (:district), not text pasted into the SQL: {statement}"
    )


def plan_of(conn: Connection, call: Callable[[], object]) -> Mapping[str, Any]:
    """EXPLAIN (FORMAT JSON) of the last statement ``call`` sends, with the same parameters."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))  # (conn, cursor, statement, parameters, context, many)

    event.listen(conn.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(conn.engine, "before_cursor_execute", record)
    assert sent, "the function should run its query on the connection it is given"
    statement, parameters = sent[-1]
    plan: Mapping[str, Any] = conn.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + statement, parameters
    ).scalar_one()[0]["Plan"]
    return plan


@pytest.mark.task(4)
def test_gist_index_serves_nearest_and_radius_queries(conn: Connection) -> None:
    generate_docks(conn, 20_000)

    def knn() -> list[tuple[str, float]]:
        return nearest(conn, *ODEON, 5)

    brute_force = conn.execute(
        text(
            "SELECT name FROM places ORDER BY "
            "ST_Distance(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) LIMIT 5"
        ),
        {"lon": ODEON[0], "lat": ODEON[1]},
    ).scalars()
    assert [name for name, _ in knn()] == list(brute_force), "same answer as sorting every row"

    create_geog_index(conn)
    conn.execute(text("ANALYZE places"))
    knn_scans = [
        node
        for node in plan_nodes(plan_of(conn, knn))
        if node["Node Type"] == "Index Scan" and node.get("Index Name") == INDEX_NAME
    ]
    assert knn_scans and "Order By" in knn_scans[0], (
        f"K-nearest should be an Index Scan on {INDEX_NAME} with an Order By (geog <-> point): "
        "ORDER BY ST_Distance(...) LIMIT k sorts every row instead"
    )
    radius_plan = plan_of(conn, lambda: within_radius(conn, *ODEON, 150))
    assert INDEX_NAME in {node.get("Index Name") for node in plan_nodes(radius_plan)}, (
        "ST_DWithin uses the GiST index (a bounding-box test first); ST_Distance(...) < r cannot"
    )


@pytest.mark.task(5)
def test_orm_finds_cafes_within_radius_as_shapely_points(engine: Engine) -> None:
    with Session(engine) as session:  # a bar and a bookshop by the bridge: not cafés
        add_places(
            session,
            [("Bar du Pont", "bar", 2.33760, 48.85835), ("Bouquiniste", "books", 2.3374, 48.8582)],
        )
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(*args: Any) -> None:
        sent.append(args[2])

    with Session(engine) as session:
        got = [
            (name, (point.x, point.y))
            for name, point in cafes_within(session, Point(*PONT_DES_ARTS), 1000)
        ]
    assert got == [
        ("Le Nemours", (2.33617, 48.86303)),
        ("Les Deux Magots", (2.33330, 48.85400)),
        ("Café de Flore", (2.33262, 48.85406)),
        ("Le Procope", (2.33874, 48.85301)),
    ], (
        "cafés only (not the Louvre, the bar, the bookshop), nearest first, read back with to_shape as shapely Points"
    )
    assert any("ST_DWithin(places.geog" in statement for statement in sent), (
        "filter with func.ST_DWithin on the geography column, in the database"
    )
    with Session(engine) as session:
        assert cafes_within(session, Point(*PONT_DES_ARTS), 500) == []
        at_procope = cafes_within(session, Point(2.33874, 48.85301), 0)
    assert [name for name, _ in at_procope] == ["Le Procope"], (
        "a café 0 m away is within 0 m: ST_DWithin's radius is inclusive"
    )
