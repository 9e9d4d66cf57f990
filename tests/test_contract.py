"""Contract tests: the Avro file, the field table it must carry, and the generated DDL."""

import json

import fastavro
import pytest

from userstream.contract import CONTRACT_PATH, ContractError, load_contract
from userstream.ddl import column_type, initial_migration
from userstream.config import PROJECT_ROOT
from userstream.evolution import compatibility_problems, released_versions

BLOOD_TYPES = "ENUM('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')"

# The user profile as specified: field name and MySQL column type, in order.
EXPECTED_COLUMNS = [
    ("user_id", "INT"), ("first_name", "VARCHAR(50)"), ("last_name", "VARCHAR(50)"),
    ("email", "VARCHAR(100)"), ("phone_number", "VARCHAR(20)"), ("address", "VARCHAR(100)"),
    ("city", "VARCHAR(50)"), ("state", "VARCHAR(50)"), ("country", "VARCHAR(50)"),
    ("zip_code", "VARCHAR(20)"), ("date_of_birth", "DATE"),
    ("gender", "ENUM('Male', 'Female', 'Other')"), ("nationality", "VARCHAR(50)"),
    ("occupation", "VARCHAR(50)"), ("company_name", "VARCHAR(100)"),
    ("website", "VARCHAR(100)"), ("account_balance", "DECIMAL(10,2)"), ("credit_score", "INT"),
    ("registration_date", "DATE"), ("last_login", "DATETIME"),
    ("subscription_status", "ENUM('Active', 'Inactive')"),
    ("subscription_type", "ENUM('Basic', 'Premium', 'Enterprise')"),
    ("profile_picture_url", "VARCHAR(200)"), ("social_security_number", "VARCHAR(20)"),
    ("passport_number", "VARCHAR(20)"), ("driver_license_number", "VARCHAR(20)"),
    ("marital_status", "ENUM('Single', 'Married', 'Divorced', 'Widowed')"),
    ("children_count", "INT"), ("emergency_contact_name", "VARCHAR(100)"),
    ("emergency_contact_number", "VARCHAR(20)"), ("medical_conditions", "TEXT"),
    ("blood_type", BLOOD_TYPES), ("allergies", "TEXT"), ("favorite_color", "VARCHAR(20)"),
    ("favorite_food", "VARCHAR(50)"), ("favorite_movie", "VARCHAR(100)"),
    ("favorite_music_genre", "VARCHAR(50)"), ("favorite_sport", "VARCHAR(50)"),
    ("hobby", "VARCHAR(100)"), ("pet_name", "VARCHAR(50)"),
    ("pet_type", "ENUM('Dog', 'Cat', 'Bird', 'Fish', 'Other')"), ("pet_breed", "VARCHAR(50)"),
    ("pet_age", "INT"), ("vehicle_make", "VARCHAR(50)"), ("vehicle_model", "VARCHAR(50)"),
    ("vehicle_year", "INT"), ("license_plate_number", "VARCHAR(20)"),
    ("insurance_provider", "VARCHAR(100)"), ("insurance_policy_number", "VARCHAR(50)"),
]


def test_contract_parses_as_avro():
    schema = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    parsed = fastavro.parse_schema(schema)
    assert parsed["type"] == "record"
    assert len(schema["fields"]) == 49


def test_contract_fields_match_specification(contract):
    assert contract.field_names == [name for name, _ in EXPECTED_COLUMNS]


@pytest.mark.parametrize("name, expected", EXPECTED_COLUMNS)
def test_column_type_matches_specification(contract, name, expected):
    assert column_type(contract.field(name)) == expected


@pytest.mark.parametrize("name, expected", EXPECTED_COLUMNS)
def test_string_limit_matches_column(contract, name, expected):
    spec = contract.field(name)
    if expected.startswith("VARCHAR("):
        assert spec.max_length == int(expected[8:-1]), f"{name}: maxLength {spec.max_length}"
    if expected == "TEXT":
        assert spec.max_bytes == 65535, f"{name}: maxBytes {spec.max_bytes}"


def test_logical_types_are_exact(contract):
    balance = contract.field("account_balance")
    assert (balance.kind, balance.precision, balance.scale) == ("decimal", 10, 2)
    assert contract.field("last_login").kind == "timestamp"
    assert contract.field("date_of_birth").kind == "date"
    assert contract.field("registration_date").kind == "date"


def test_ranges_are_carried(contract):
    assert (contract.field("credit_score").minimum, contract.field("credit_score").maximum) == (
        300, 850)
    assert contract.field("children_count").minimum == 0
    assert contract.field("user_id").minimum == 1
    assert contract.field("date_of_birth").not_after == "registration_date"
    assert contract.field("registration_date").not_after == "last_login"


def test_formats_are_carried(contract):
    assert contract.field("email").format == "email"
    assert contract.field("website").format == "url"
    assert contract.field("phone_number").format == "phone"


def test_sensitive_fields_are_marked(contract):
    marked = {spec.name: spec.sensitivity for spec in contract.fields if spec.sensitivity}
    for name in ("social_security_number", "passport_number", "driver_license_number"):
        assert marked.get(name) == "government_id", name
    for name in ("medical_conditions", "allergies", "blood_type"):
        assert marked.get(name) == "health", name


def test_first_migration_matches_first_released_contract():
    [(version, first_release), *_] = released_versions(CONTRACT_PATH.parent / "history")
    first = sorted((PROJECT_ROOT / "migrations").glob("V*__*.sql"))[0]
    assert first.read_text(encoding="utf-8") == initial_migration(first_release), (
        f"{first.name} differs from the DDL generated from {version}; migrations are never "
        "edited once released: add one with `userstream contract migrate`"
    )


def test_working_contract_compatible_with_every_release(contract):
    problems = []
    for version, released in released_versions(CONTRACT_PATH.parent / "history"):
        problems += compatibility_problems(contract, released, version)
    assert problems == [], "\n".join(str(problem) for problem in problems)


def test_unsupported_union_is_rejected(tmp_path):
    schema = {"type": "record", "name": "Broken", "fields": [
        {"name": "x", "type": ["null", "int", "string"], "default": None}]}
    path = tmp_path / "broken.avsc"
    path.write_text(json.dumps(schema))
    with pytest.raises(ContractError, match="only unions of null and one type"):
        load_contract(path)


def test_string_without_limit_is_rejected(tmp_path):
    schema = {"type": "record", "name": "Broken", "fields": [{"name": "x", "type": "string"}]}
    path = tmp_path / "broken.avsc"
    path.write_text(json.dumps(schema))
    with pytest.raises(ContractError, match="needs maxLength or maxBytes"):
        load_contract(path)
