"""PostGIS geography: radius search, K-nearest on a GiST index, polygon coverage, GeoAlchemy2."""

from __future__ import annotations

from collections.abc import Iterable

from geoalchemy2 import Geography, WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import Connection, func, select, text, type_coerce
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

INDEX_NAME = "places_geog_gist"


class Base(DeclarativeBase):
    pass


class Place(Base):
    """A named point: ``geog`` is a geography, so distances come out in metres on the spheroid."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    # spatial_index=False: GeoAlchemy2 would add a GiST index itself; here that is your task.
    geog: Mapped[WKBElement] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False)
    )


def add_places(session: Session, places: Iterable[tuple[str, str, float, float]]) -> None:
    """Add ``(name, kind, lon, lat)`` rows: shapely builds the point, ``from_shape`` binds it."""
    session.add_all(
        Place(name=name, kind=kind, geog=from_shape(Point(lon, lat), srid=4326))
        for name, kind, lon, lat in places
    )
    session.commit()


def generate_docks(conn: Connection, count: int) -> None:
    """Add ``count`` bike docks spread over Paris (deterministic), then ANALYZE."""
    conn.execute(
        text(
            """
            INSERT INTO places (name, kind, geog)
            SELECT format('Dock %s', g), 'dock',
                   ST_SetSRID(ST_MakePoint(2.25 + 0.17 * ((g * 7919) % 10007) / 10007.0,
                                           48.815 + 0.085 * ((g * 104729) % 10009) / 10009.0),
                              4326)::geography
            FROM generate_series(1, :count) AS g
            """
        ),
        {"count": count},
    )
    conn.execute(text("ANALYZE places"))


def within_radius(
    conn: Connection, lon: float, lat: float, metres: float
) -> list[tuple[str, float]]:
    """``(name, metres away)`` of the places within ``metres`` of (lon, lat), nearest first."""
    # kata: begin ST_DWithin(geog, point, :metres) on geography, ORDER BY ST_Distance; return (name, metres)
    rows = conn.execute(
        text(
            """
            SELECT name,
                   ST_Distance(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS metres
            FROM places
            WHERE ST_DWithin(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
            ORDER BY metres, name
            """
        ),
        {"lon": lon, "lat": lat, "metres": metres},
    )
    return [(name, distance) for name, distance in rows]
    # kata: end


def nearest(conn: Connection, lon: float, lat: float, k: int) -> list[tuple[str, float]]:
    """The ``k`` places nearest to (lon, lat) as ``(name, metres away)``, by the index (<->)."""
    # kata: begin ORDER BY geog <-> point LIMIT :k (index-assisted KNN); return (name, ST_Distance metres)
    rows = conn.execute(
        text(
            """
            SELECT name, ST_Distance(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
            FROM places
            ORDER BY geog <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
            LIMIT :k
            """
        ),
        {"lon": lon, "lat": lat, "k": k},
    )
    return [(name, distance) for name, distance in rows]
    # kata: end


def in_district(conn: Connection, district_wkt: str) -> list[str]:
    """Names of the places the district polygon (WKT, lon/lat) covers, boundary included."""
    # kata: begin WHERE ST_Covers(ST_GeogFromText(:district), geog) -- geography has no ST_Contains
    rows = conn.execute(
        text(
            "SELECT name FROM places WHERE ST_Covers(ST_GeogFromText(:district), geog) ORDER BY name"
        ),
        {"district": district_wkt},
    )
    return list(rows.scalars())
    # kata: end


def create_geog_index(conn: Connection) -> None:
    """A GiST index on ``places.geog`` named ``INDEX_NAME``."""
    # kata: begin CREATE INDEX places_geog_gist ON places USING gist (geog)
    conn.execute(text("CREATE INDEX places_geog_gist ON places USING gist (geog)"))
    # kata: end


def cafes_within(session: Session, centre: Point, metres: float) -> list[tuple[str, Point]]:
    """The cafés within ``metres`` of ``centre``, nearest first, as ``(name, shapely point)``."""
    # kata: begin select(Place) where kind == "cafe" and func.ST_DWithin(Place.geog, centre, metres); to_shape
    point = type_coerce(from_shape(centre, srid=4326), Geography)
    places = session.scalars(
        select(Place)
        .where(Place.kind == "cafe", func.ST_DWithin(Place.geog, point, metres))
        .order_by(func.ST_Distance(Place.geog, point))
    )
    result = []
    for place in places:
        shape = to_shape(place.geog)
        assert isinstance(shape, Point)
        result.append((place.name, shape))
    return result
    # kata: end
