"""The ISO 3166-1 alpha-2 country codes, embedded so validation needs no network or package.

A code that merely looks right (two capital letters) is not enough: a typo such as
``UK`` or ``RM`` would otherwise create an agreement party no agency can ever match.
"""

from __future__ import annotations

_OFFICIAL = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
"""

#: The 249 officially assigned ISO 3166-1 alpha-2 codes.
ISO_3166_ALPHA2: frozenset[str] = frozenset(_OFFICIAL.split())

#: User-assigned codes accepted as countries. ``XK`` (Kosovo) is the code the European
#: Commission and most anti-trafficking bodies of South-East Europe use.
USER_ASSIGNED: frozenset[str] = frozenset({"XK"})

#: Every code a directory or an identity may name as a country.
COUNTRY_CODES: frozenset[str] = ISO_3166_ALPHA2 | USER_ASSIGNED


def is_country_code(code: str) -> bool:
    """Whether ``code`` names a country Corridor accepts (case-sensitive, upper case)."""
    return code in COUNTRY_CODES
