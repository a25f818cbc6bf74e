"""Date formats shared by the three languages (FORMAT_MODULE_PATH).

Finland writes dates as 1.3.2026 in Finnish and in Finland-Swedish alike; Django's own sv
formats are Sweden's (2026-03-01) and its en formats American. Kaikukanta shows one format
everywhere, in the admin too. Only the display formats are set here: what a form accepts as
input stays Django's per language.
"""

DATE_FORMAT = "j.n.Y"
SHORT_DATE_FORMAT = "j.n.Y"
DATETIME_FORMAT = "j.n.Y H:i"
SHORT_DATETIME_FORMAT = "j.n.Y H:i"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
