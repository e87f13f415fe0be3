"""Codes of the EU authority tables pianold uses (publications.europa.eu/resource/authority/…),
with the tables' own Italian and English labels, so records can carry them without a download."""

from __future__ import annotations

DATA_THEMES = {
    "AGRI": ("Agricoltura, pesca, silvicoltura e prodotti alimentari", "Agriculture, fisheries, forestry and food"),
    "ECON": ("Economia e finanze", "Economy and finance"),
    "EDUC": ("Istruzione, cultura e sport", "Education, culture and sport"),
    "ENER": ("Energia", "Energy"),
    "ENVI": ("Ambiente", "Environment"),
    "GOVE": ("Governo e settore pubblico", "Government and public sector"),
    "HEAL": ("Salute", "Health"),
    "INTR": ("Tematiche internazionali", "International issues"),
    "JUST": ("Giustizia, sistema giuridico e sicurezza pubblica", "Justice, legal system and public safety"),
    "OP_DATPRO": ("Dati provvisori", "Provisional data"),
    "REGI": ("Regioni e città", "Regions and cities"),
    "SOCI": ("Popolazione e società", "Population and society"),
    "TECH": ("Scienza e tecnologia", "Science and technology"),
    "TRAN": ("Trasporti", "Transport"),
}

FREQUENCIES = ("ANNUAL", "ANNUAL_2", "ANNUAL_3", "BIENNIAL", "BIMONTHLY", "BIWEEKLY", "CONT", "DAILY", "IRREG",
               "MONTHLY", "NEVER", "QUARTERLY", "SEMIANNUAL", "TRIENNIAL", "UNKNOWN", "UPDATE_CONT", "WEEKLY")
