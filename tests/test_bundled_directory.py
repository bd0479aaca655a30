"""The bundled directory data: the spec's entries, honest contact details, valid files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from directory.models import Access, ContactKind, Scope
from directory.seed import DATA_DIR, BundledDataError, BundledService, load_bundled_directory
from tests.conftest import shared_path

# The required entries (../shared/directory-spec.md): exact name -> (where, min_age, max_age).
SPEC: dict[str, tuple[str, int, int]] = {
    "Familjeguiden": ("Degerfors", 0, 20),
    "Familjecentralen": ("Degerfors", 0, 6),
    "Barnhälsoteam": ("Degerfors", 0, 5),
    "IOR – Individuell Omsorg med Respekt": ("Degerfors", 1, 5),
    "Pinocchio": ("Degerfors", 6, 12),
    "Sociala insatsgrupper (SIG)": ("Degerfors", 13, 19),
    "Steget": ("Degerfors", 6, 16),
    "QPM – Quality Parenting Meetings": ("Degerfors", 1, 6),
    "Tematiska föräldramöten": ("Degerfors", 13, 16),
    "Elevhälsan": ("Degerfors", 6, 19),
    "Socialtjänsten – individ- och familjeomsorg": ("Degerfors", 0, 20),
    "Polisens drogförebyggande arbete": ("Degerfors", 13, 20),
    "Vägledande samspel (ICDP)": ("Degerfors", 0, 18),
    "Boende för ensamkommande barn": ("Degerfors", 15, 21),
    "Familjeteam 7-15": ("Norrköping", 7, 15),
    "Michael & Michael öppenvård": ("national", 0, 20),
    "Lotsen – Lotsmodellen": ("Skåne nordost", 0, 18),
    "Barn- och ungdomspsykiatrin (BUP)": ("national", 0, 17),
    "Barn- och ungdomshabiliteringen": ("Skåne nordost", 0, 18),
    "BRIS": ("national", 0, 18),
    "1177 Vårdguiden": ("national", 0, 20),
    "SOS Alarm 112": ("national", 0, 20),
    "Självmordslinjen": ("national", 0, 20),
    "Kvinnofridslinjen": ("national", 0, 20),
}
SKANE_NORDOST = {"Kristianstad", "Hässleholm", "Bromölla", "Osby", "Perstorp", "Östra Göinge"}
URGENT = {"SOS Alarm 112", "Självmordslinjen", "Kvinnofridslinjen", "BRIS"}

# Every phone number and e-mail the bundled data may contain, with where it comes from.
# Adding a number means adding it here with its source: a wrong number is worse than none.
ALLOWED_PHONES = {
    "112": "SOS Alarm, public emergency number",
    "1177": "1177 Vårdguiden, public",
    "90101": "Mind Självmordslinjen, public",
    "020-50 50 50": "Kvinnofridslinjen, public",
    "116 111": "BRIS for children, public",
    "114 14": "Polisen, public non-emergency number",
    "011-15 39 85": "Familjeteam 7-15, seed 001",
    "011-15 00 00": "Norrköpings kommun socialkontoret, seed 001",
}
ALLOWED_EMAILS = {"socialkontoret@norrkoping.se": "seed 001"}
PHONE_LIKE = re.compile(r"(?<!\d)\+?\d(?:[\d -]*\d)?")
EMAIL_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@pytest.fixture(scope="module")
def entries() -> dict[str, BundledService]:
    return {entry.service.name: entry for entry in load_bundled_directory().services}


def _texts(entry: BundledService) -> list[str]:
    s = entry.service
    contact_texts = [f"{c.label} {c.note}" for c in entry.contacts]
    return [s.summary, s.description, s.access_note, s.cost, *contact_texts]


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def test_every_spec_entry_present_with_its_exact_name(entries: dict[str, BundledService]) -> None:
    assert set(entries) == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_ages_and_where_match_the_spec(entries: dict[str, BundledService], name: str) -> None:
    where, min_age, max_age = SPEC[name]
    service = entries[name].service
    assert (service.min_age, service.max_age) == (min_age, max_age)
    if where == "national":
        assert (service.scope, service.municipalities) == (Scope.national, [])
    elif where == "Skåne nordost":
        assert service.scope == Scope.region
        assert service.region == "Skåne nordost"
        assert set(service.municipalities) == SKANE_NORDOST
    else:
        assert (service.scope, service.municipalities) == (Scope.municipality, [where])


def test_bup_is_national_and_says_it_exists_in_every_region(
    entries: dict[str, BundledService],
) -> None:
    bup = entries["Barn- och ungdomspsykiatrin (BUP)"].service
    assert bup.scope == Scope.national
    assert "alla regioner" in bup.description


def test_access_routes_from_the_sources(entries: dict[str, BundledService]) -> None:
    assert entries["Barnhälsoteam"].service.access == Access.via_preschool
    assert "specialpedagog" in entries["Barnhälsoteam"].service.access_note
    assert entries["Familjeteam 7-15"].service.access == Access.via_social_services
    assert entries["Elevhälsan"].service.access == Access.via_school
    assert entries["Familjecentralen"].service.access == Access.open


def test_only_the_acute_lines_are_urgent(entries: dict[str, BundledService]) -> None:
    assert {name for name, e in entries.items() if e.service.urgent_service} == URGENT


def test_contact_phones_and_emails_are_all_allow_listed(
    entries: dict[str, BundledService],
) -> None:
    for name, entry in entries.items():
        for contact in entry.contacts:
            if contact.kind == ContactKind.phone:
                assert contact.value in ALLOWED_PHONES, f"{name}: unknown phone {contact.value}"
            if contact.kind == ContactKind.email:
                assert contact.value in ALLOWED_EMAILS, f"{name}: unknown e-mail {contact.value}"
        if entry.service.email is not None:
            assert entry.service.email in ALLOWED_EMAILS, name


def test_free_text_names_no_unlisted_number_or_email(entries: dict[str, BundledService]) -> None:
    allowed_digits = {_digits(p) for p in ALLOWED_PHONES}
    for name, entry in entries.items():
        for text in _texts(entry):
            for found in PHONE_LIKE.findall(text):
                digits = _digits(found)
                # Ages and durations ("0-20 år", "3-12 månader") are not phone numbers.
                if len(digits) >= 3 and not re.fullmatch(r"\d{1,2} ?- ?\d{1,2}", found.strip()):
                    assert digits in allowed_digits, f"{name}: unlisted number {found!r}"
            for found in EMAIL_LIKE.findall(text):
                assert found in ALLOWED_EMAILS, f"{name}: unlisted e-mail {found!r}"


def test_allow_list_check_catches_an_invented_number() -> None:
    text = "Ring oss på 0586-123 45 så hjälper vi dig."
    digits = {_digits(found) for found in PHONE_LIKE.findall(text)}
    assert "058612345" in digits
    assert not digits & {_digits(p) for p in ALLOWED_PHONES}


def test_unverified_where_phone_and_email_are_missing(entries: dict[str, BundledService]) -> None:
    direct = {ContactKind.phone, ContactKind.email}
    for name, entry in entries.items():
        if not any(c.kind in direct for c in entry.contacts) and not entry.service.email:
            assert entry.service.verified is False, name


def test_every_entry_is_sourced_dated_and_categorised(entries: dict[str, BundledService]) -> None:
    for name, entry in entries.items():
        service = entry.service
        assert service.source and service.assured_date is not None, name
        assert service.summary and service.categories and entry.organization, name
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", service.description) if s]
        assert 3 <= len(sentences) <= 8, f"{name}: {len(sentences)} sentences"


def test_keywords_are_plenty_and_not_repeated(entries: dict[str, BundledService]) -> None:
    for name, entry in entries.items():
        keywords = [k.casefold() for k in entry.service.keywords]
        assert 25 <= len(keywords) <= 60, f"{name}: {len(keywords)} keywords"
        assert len(set(keywords)) == len(keywords), f"{name}: repeated keywords"


def _broken_copy(tmp_path: Path, name: str, **changes: object) -> Path:
    shutil.copy(DATA_DIR / "categories.json", tmp_path / "categories.json")
    data = json.loads((DATA_DIR / "services.json").read_text(encoding="utf-8"))
    entry = next(s for s in data["services"] if s["name"] == name)
    entry.update(changes)
    (tmp_path / "services.json").write_text(json.dumps(data), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "changes",
    [
        {"max_age": 99},
        {"min_age": 12, "max_age": 3},
        {"access": "whenever"},
        {"categories": ["no_such_category"]},
        {"organization": "Okänd organisation"},
        {"scope": "national"},
        {"municipalities": []},
        {"contacts": [{"kind": "fax", "value": "x"}]},
        {"keywrods": ["typo"]},
    ],
)
def test_bad_data_fails_loudly_naming_the_entry(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    data_dir = _broken_copy(tmp_path, "Steget", **changes)
    with pytest.raises(BundledDataError, match="Steget"):
        load_bundled_directory(data_dir)


def test_bad_synonym_fails_loudly(tmp_path: Path) -> None:
    data_dir = _broken_copy(tmp_path, "Steget")
    bad = [{"term": "soc", "expansions": ["socialtjänst"]}, {"term": "", "expansions": []}]
    (data_dir / "synonyms.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(BundledDataError, match=r"synonyms\.json"):
        load_bundled_directory(data_dir)


def test_spec_table_matches_the_shared_spec() -> None:
    spec = shared_path("directory-spec.md")
    rows = [line.split("|") for line in spec.read_text(encoding="utf-8").splitlines()]
    table = {r[1].strip(): r[3].strip() for r in rows if len(r) > 4 and r[1].strip()}
    table.pop("name", None)
    table = {k: v for k, v in table.items() if not set(k) <= {"-"}}
    assert {name: f"{lo}-{hi}" for name, (_, lo, hi) in SPEC.items()} == table


def test_seed_sourced_contacts_occur_in_the_seed_text() -> None:
    seeds = shared_path("seeds")
    text = "\n".join(p.read_text(encoding="utf-8") for p in seeds.glob("001_*.txt"))
    for value, source in {**ALLOWED_PHONES, **ALLOWED_EMAILS}.items():
        if "seed 001" in source:
            assert value in text, value
