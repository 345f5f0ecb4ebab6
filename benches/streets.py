"""San Francisco street names (and their usual types) for the citylots generator.

``CRANLEIGH`` and ``17TH`` are deliberately absent: the generator plants them
on exactly the lots Quamina's patterns count.
"""

from __future__ import annotations

# (name, ST_TYPE). A few names exist with several types in the city; one is enough here.
_NAMED: tuple[tuple[str, str], ...] = (
    ("ACADIA", "ST"), ("ACTON", "ST"), ("ALABAMA", "ST"), ("ALEMANY", "BLVD"),
    ("ARGUELLO", "BLVD"), ("ARKANSAS", "ST"), ("ARMSTRONG", "AVE"), ("ASHBURY", "ST"),
    ("BACHE", "ST"), ("BAKER", "ST"), ("BALBOA", "ST"), ("BAY", "ST"),
    ("BAY SHORE", "BLVD"), ("BEACH", "ST"), ("BEALE", "ST"), ("BELVEDERE", "ST"),
    ("BERRY", "ST"), ("BLAKE", "ST"), ("BLANKEN", "AVE"), ("BLUXOME", "ST"),
    ("BLYTHDALE", "AVE"), ("BOSWORTH", "ST"), ("BRANNAN", "ST"), ("BRODERICK", "ST"),
    ("BRYANT", "ST"), ("BUCHANAN", "ST"), ("BUSH", "ST"), ("CABRILLO", "ST"),
    ("CALIFORNIA", "ST"), ("CAPITOL", "AVE"), ("CAPP", "ST"), ("CARL", "ST"),
    ("CASTRO", "ST"), ("CAYUGA", "AVE"), ("CESAR CHAVEZ", "ST"), ("CHENERY", "ST"),
    ("CHESTNUT", "ST"), ("CHICAGO", "WAY"), ("CHURCH", "ST"), ("CLAYTON", "ST"),
    ("CLAY", "ST"), ("CLEMENT", "ST"), ("CLIPPER", "ST"), ("COLE", "ST"),
    ("COLUMBUS", "AVE"), ("CONNECTICUT", "ST"), ("CORBETT", "AVE"), ("CORTLAND", "AVE"),
    ("DAVIDSON", "AVE"), ("DE HARO", "ST"), ("DEWEY", "BLVD"), ("DIAMOND", "ST"),
    ("DIVISADERO", "ST"), ("DOLORES", "ST"), ("DOUGLASS", "ST"), ("DRAKE", "ST"),
    ("DRUMM", "ST"), ("DUBOCE", "AVE"), ("EDDY", "ST"), ("ELLIS", "ST"),
    ("EUCALYPTUS", "DR"), ("EVANS", "AVE"), ("EXCELSIOR", "AVE"), ("FELL", "ST"),
    ("FILBERT", "ST"), ("FILLMORE", "ST"), ("FLORIDA", "ST"), ("FOLSOM", "ST"),
    ("FRANCISCO", "ST"), ("FRANKLIN", "ST"), ("FREDERICK", "ST"), ("FUENTE", "AVE"),
    ("FULTON", "ST"), ("FUNSTON", "AVE"), ("GEARY", "BLVD"), ("GENEVA", "AVE"),
    ("GIRARD", "ST"), ("GOLDEN GATE", "AVE"), ("GOUGH", "ST"), ("GRANT", "AVE"),
    ("GREEN", "ST"), ("GREENWICH", "ST"), ("GUERRERO", "ST"), ("HAIGHT", "ST"),
    ("HARRISON", "ST"), ("HAYES", "ST"), ("HOLLOWAY", "AVE"), ("HOWARD", "ST"),
    ("HYDE", "ST"), ("INDIANA", "ST"), ("IRVING", "ST"), ("JACKSON", "ST"),
    ("JEFFERSON", "ST"), ("JONES", "ST"), ("JUDAH", "ST"), ("KANSAS", "ST"),
    ("KEARNY", "ST"), ("KING", "ST"), ("KIRKHAM", "ST"), ("LAGUNA", "ST"),
    ("LAKE", "ST"), ("LANSING", "ST"), ("LARKIN", "ST"), ("LAWTON", "ST"),
    ("LEAVENWORTH", "ST"), ("LINCOLN", "WAY"), ("LOMBARD", "ST"), ("MANNING", "ST"),
    ("MARINA", "BLVD"), ("MARKET", "ST"), ("MASON", "ST"), ("MASONIC", "AVE"),
    ("MCALLISTER", "ST"), ("MINNA", "ST"), ("MISSION", "ST"), ("MISSISSIPPI", "ST"),
    ("MISSOURI", "ST"), ("MONTEREY", "BLVD"), ("MONTGOMERY", "ST"), ("MORAGA", "ST"),
    ("NATOMA", "ST"), ("NOE", "ST"), ("NORIEGA", "ST"), ("OAK", "ST"),
    ("OCEAN", "AVE"), ("OCTAVIA", "ST"), ("O'FARRELL", "ST"), ("ORTEGA", "ST"),
    ("PACIFIC", "AVE"), ("PAGE", "ST"), ("PALOU", "AVE"), ("PENNSYLVANIA", "AVE"),
    ("PERSIA", "AVE"), ("PIERCE", "ST"), ("PINE", "ST"), ("PORTOLA", "DR"),
    ("POST", "ST"), ("POTRERO", "AVE"), ("POWELL", "ST"), ("QUINTARA", "ST"),
    ("RANDOLPH", "ST"), ("RHODE ISLAND", "ST"), ("RIVERA", "ST"), ("SACRAMENTO", "ST"),
    ("SAN BRUNO", "AVE"), ("SAN DIEGO", "AVE"), ("SAN JOSE", "AVE"), ("SANCHEZ", "ST"),
    ("SANSOME", "ST"), ("SANTIAGO", "ST"), ("SCOTT", "ST"), ("SHOTWELL", "ST"),
    ("SILVER", "AVE"), ("SLOAT", "BLVD"), ("SOUTH VAN NESS", "AVE"), ("STANYAN", "ST"),
    ("STEINER", "ST"), ("STERLING", "ST"), ("STOCKTON", "ST"), ("SUTTER", "ST"),
    ("TARAVAL", "ST"), ("TAYLOR", "ST"), ("TELEGRAPH HILL", "BLVD"), ("TENNESSEE", "ST"),
    ("TEXAS", "ST"), ("THIRD", "ST"), ("TOWNSEND", "ST"), ("TREAT", "AVE"),
    ("TWIN PEAKS", "BLVD"), ("ULLOA", "ST"), ("UNION", "ST"), ("URBANO", "DR"),
    ("UTAH", "ST"), ("VALENCIA", "ST"), ("VALLEJO", "ST"), ("VAN NESS", "AVE"),
    ("VERMONT", "ST"), ("VICENTE", "ST"), ("VIRGINIA", "AVE"), ("WALLER", "ST"),
    ("WASHINGTON", "ST"), ("WAWONA", "ST"), ("WEBSTER", "ST"), ("WEST PORTAL", "AVE"),
    ("WISCONSIN", "ST"), ("WOOLSEY", "ST"), ("YORK", "ST"), ("YOSEMITE", "AVE"),
    ("ZOE", "ST"), ("ALVARADO", "ST"), ("CLARENDON", "AVE"), ("GLADYS", "ST"),
    ("GOLDING", "LN"), ("HALLECK", "ST"), ("JERSEY", "ST"), ("LAPIDGE", "ST"),
    ("ORANGE", "ALY"), ("PELTON", "PL"), ("ROMOLO", "PL"), ("SUMMIT", "ST"),
    ("VULCAN", "STAIRWAY"), ("WILDER", "ST"), ("YERBA BUENA", "AVE"), ("ZAMPA", "LN"),
)

_ORDINALS = (
    "1ST", "2ND", "3RD", "4TH", "5TH", "6TH", "7TH", "8TH", "9TH", "10TH", "11TH", "12TH",
    "13TH", "14TH", "15TH", "16TH", "18TH", "19TH", "20TH", "21ST", "22ND", "23RD",
    "24TH", "25TH", "26TH",
)


def _ordinal(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return f"{n}TH"
    return f"{n}{ {1: 'ST', 2: 'ND', 3: 'RD'}.get(n % 10, 'TH') }"


_AVENUES = tuple(_ordinal(n) for n in range(27, 49))

STREETS: tuple[tuple[str, str | None], ...] = (
    _NAMED
    + tuple((name, "ST") for name in _ORDINALS)
    + tuple((name, "AVE") for name in _AVENUES)
)
"""Every street a random lot may face, with its type."""

UNKNOWN: tuple[str, None] = ("UNKNOWN", None)
"""What the real file records for lots without an address (type null)."""
