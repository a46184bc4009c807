"""The invented names of the fictional country of Caldreth.

Every name here was made up for the course. ``tests/test_scenario.py`` checks them against the
country names in ``world_outlines`` and a list of real peoples and religions, so a collision with
a real name fails the tests. Keep names non-descriptive of any real place or people.
"""

from __future__ import annotations

COUNTRY = "Republic of Caldreth"

# province_id -> (name, capital). P01-P04 run west to east along the north, P05-P08 along the south.
PROVINCES = {
    "P01": ("Quessmar", "Ombrevale"),
    "P02": ("Lirrath", "Tobrenne Mill"),
    "P03": ("Vandrisk", "Saskelm"),
    "P04": ("Corvayne", "Ilmarsh"),
    "P05": ("Aldwether Fens", "Pellimor"),
    "P06": ("Dunmaral", "Vellandry"),
    "P07": ("Skarnholt", "Veskaro"),
    "P08": ("Brimmeld", "Arrowgate Quay"),
}

# The capital of the whole country (in P01).
NATIONAL_CAPITAL = "Ombrevale"

# Identity groups (invented; no real people, language or faith is meant).
GROUPS = ("Ostrani", "Veleni", "Quorin", "Taskali")

# Other named places: province_id -> [(name, kind), ...]. Camps sit where displaced people arrive;
# crossings sit at the country's outer edge.
OTHER_PLACES = {
    "P01": [("Marrowby", "town")],
    "P02": [("Fennick Ford", "town"), ("Lirrath Rise camp", "camp")],
    "P03": [("Odderin", "town"), ("Cassowen Gap", "crossing")],
    "P04": [("Thessle Point", "town"), ("Corvayne North crossing", "crossing")],
    "P05": [("Gammerly", "town")],
    "P06": [("Brannowick", "town"), ("Yarrowvent", "village")],
    "P07": [("Quillfen", "village"), ("Hobsmere", "town")],
    "P08": [("Dunsk Meadows camp", "camp"), ("Brimmeld South crossing", "crossing")],
}

# Actors who speak or act in the media log and incident reports (all invented).
ACTORS = {
    "governor": "Provincial governor's office",
    "minister": "Interior Ministry spokesperson",
    "party": "Caldrethi Renewal Party",
    "radio": "Radio Kestrel (talk-show host)",
    "militia": "Grey Lantern militia",
    "police": "Provincial police",
    "army": "Army 4th Rifle Battalion",
    "unknown": "Unidentified armed men",
    "council": "Town council",
    "cleric": "Community elder",
    "opposition": "Civic Accord (opposition bloc)",
    "online": "Anonymous social-media accounts",
}
