"""Check that ProfileGenerator output fits every rule of the Avro contract."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import fastavro
import pytest

from producer import generator
from producer.generator import ProfileGenerator, ascii_fold
from userstream.contract import default_contract

NOW = dt.datetime(2026, 6, 15, 12, 30, 45, tzinfo=dt.timezone.utc)
SEED = 20240601
PROFILE_COUNT = 5000

US_STATES = frozenset((
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas",
    "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota",
    "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey",
    "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon",
    "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
    "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming",
))

EMAIL = re.compile(r"^[a-z0-9]+([._][a-z0-9]+)*@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
PHONE = re.compile(r"^\+?\(?[0-9][0-9 ()+.\-x]*$")
SSN = re.compile(r"^(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
PASSPORT = re.compile(r"^[A-Z1-9]\d{8}$")
DRIVER_LICENSE = re.compile(r"^([A-Z]\d{7}|\d{9}|[A-Z]\d{3}-\d{4}-\d{4})$")
PLATE = re.compile(r"^(\d[A-Z]{3}\d{3}|[A-Z]{3}-\d{4}|[A-Z]{3} \d{3}|\d{3}-[A-Z]{3})$")
POLICY = re.compile(r"^[A-Z]{2}-\d{6}-\d{4}$")
PET_FIELDS = ("pet_name", "pet_type", "pet_breed", "pet_age")
VEHICLE_FIELDS = ("vehicle_make", "vehicle_model", "vehicle_year", "license_plate_number")


@pytest.fixture(scope="module")
def contract():
    return default_contract()


@pytest.fixture(scope="module")
def profiles():
    return ProfileGenerator(seed=SEED, now=NOW).batch(PROFILE_COUNT)


def _age_on(day: dt.date, born: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_profile_field_names(profiles, contract):
    for profile in profiles:
        assert list(profile) == contract.field_names, (
            f"user {profile['user_id']}: fields {list(profile)} differ from the contract's"
        )


def test_profile_types(profiles, contract):
    for profile in profiles:
        for spec in contract.fields:
            value = profile[spec.name]
            if value is None:
                continue
            where = f"user {profile['user_id']}: {spec.name} {value!r}"
            if spec.kind in ("string", "enum"):
                assert isinstance(value, str), f"{where} is not a str"
            elif spec.kind in ("int", "long"):
                assert type(value) is int, f"{where} is not an int"
            elif spec.kind == "date":
                assert type(value) is dt.date, f"{where} is not a datetime.date"
            elif spec.kind == "timestamp":
                assert isinstance(value, dt.datetime), f"{where} is not a datetime"
            elif spec.kind == "decimal":
                assert isinstance(value, Decimal), f"{where} is not a Decimal"


def test_profile_nulls(profiles, contract):
    for profile in profiles:
        for spec in contract.fields:
            if not spec.nullable:
                assert profile[spec.name] is not None, (
                    f"user {profile['user_id']}: {spec.name} is None but not nullable"
                )
    for name in ("medical_conditions", "allergies"):
        missing = sum(profile[name] is None for profile in profiles) / len(profiles)
        assert 0.4 < missing < 0.9, f"{name} is None in {missing:.0%} of profiles"


def test_string_lengths(profiles, contract):
    for profile in profiles:
        for spec in contract.fields:
            value = profile[spec.name]
            if not isinstance(value, str):
                continue
            where = f"user {profile['user_id']}: {spec.name} {value!r}"
            assert value == value.strip(), f"{where} has surrounding whitespace"
            assert value, f"{where} is empty"
            if spec.max_length is not None:
                assert len(value) <= spec.max_length, (
                    f"{where} has {len(value)} characters; maxLength is {spec.max_length}"
                )
            if spec.max_bytes is not None:
                assert len(value.encode()) <= spec.max_bytes, (
                    f"{where} has {len(value.encode())} bytes; maxBytes is {spec.max_bytes}"
                )


def test_integer_ranges(profiles, contract):
    for profile in profiles:
        for spec in contract.fields:
            value = profile[spec.name]
            if spec.kind not in ("int", "long") or value is None:
                continue
            where = f"user {profile['user_id']}: {spec.name} {value}"
            if spec.minimum is not None:
                assert value >= spec.minimum, f"{where} is below the minimum {spec.minimum}"
            if spec.maximum is not None:
                assert value <= spec.maximum, f"{where} is above the maximum {spec.maximum}"


def test_enum_symbols(profiles, contract):
    for profile in profiles:
        for spec in contract.fields:
            value = profile[spec.name]
            if spec.kind != "enum" or value is None:
                continue
            assert value in spec.symbols, (
                f"user {profile['user_id']}: {spec.name} {value!r} is not in {spec.symbols}"
            )


def test_account_balance_decimal(profiles, contract):
    spec = contract.field("account_balance")
    for profile in profiles:
        balance = profile["account_balance"]
        digits = balance.as_tuple()
        where = f"user {profile['user_id']}: account_balance {balance}"
        assert digits.exponent == -spec.scale, f"{where} does not have {spec.scale} places"
        assert len(digits.digits) <= spec.precision, (
            f"{where} has more than {spec.precision} digits"
        )
        assert balance.is_finite(), f"{where} is not finite"


def test_email_format(profiles):
    for profile in profiles:
        email = profile["email"]
        local = email.split("@")[0]
        first, last = ascii_fold(profile["first_name"]), ascii_fold(profile["last_name"])
        assert EMAIL.match(email), f"user {profile['user_id']}: email {email!r} is malformed"
        assert local.startswith(first[0]), (
            f"user {profile['user_id']}: email {email!r} does not start with {first[0]!r}"
        )
        assert last in local, f"user {profile['user_id']}: email {email!r} lacks {last!r}"


def test_phone_format(profiles):
    area_codes = {(city, state): area for city, state, _, area in generator.CITIES}
    for profile in profiles:
        for name in ("phone_number", "emergency_contact_number"):
            phone = profile[name]
            digits = re.sub(r"\D", "", phone.split("x")[0])
            where = f"user {profile['user_id']}: {name} {phone!r}"
            assert PHONE.match(phone), f"{where} has characters a phone number cannot have"
            assert len(digits[-10:]) == 10, f"{where} does not have 10 digits before an extension"
        area = area_codes[(profile["city"], profile["state"])]
        number = re.sub(r"\D", "", profile["phone_number"].split("x")[0])[-10:]
        assert number.startswith(area), (
            f"user {profile['user_id']}: phone_number {profile['phone_number']!r} does not "
            f"have {profile['city']}'s area code {area}"
        )


def test_address_one_line(profiles):
    for profile in profiles:
        address = profile["address"]
        where = f"user {profile['user_id']}: address {address!r}"
        assert "\n" not in address, f"{where} has a line break"
        assert "\r" not in address, f"{where} has a carriage return"
        assert "  " not in address, f"{where} has a double space"
        assert address[0].isdigit(), f"{where} does not start with a building number"


def test_urls_https(profiles):
    for profile in profiles:
        for name in ("website", "profile_picture_url"):
            url = profile[name]
            where = f"user {profile['user_id']}: {name} {url!r}"
            assert url.startswith("https://"), f"{where} does not start with https://"
            assert " " not in url, f"{where} contains a space"


def test_dates_in_order(profiles, contract):
    first_registration = dt.date.fromisoformat(contract.field("registration_date").minimum)
    first_birth = dt.date.fromisoformat(contract.field("date_of_birth").minimum)
    for profile in profiles:
        born, registered = profile["date_of_birth"], profile["registration_date"]
        login = profile["last_login"]
        where = f"user {profile['user_id']}"
        assert born >= first_birth, f"{where}: date_of_birth {born} is before {first_birth}"
        assert born < registered, f"{where}: date_of_birth {born} is not before {registered}"
        assert registered >= first_registration, (
            f"{where}: registration_date {registered} is before {first_registration}"
        )
        assert registered <= login.date(), (
            f"{where}: registration_date {registered} is after last_login {login}"
        )
        assert login <= NOW, f"{where}: last_login {login} is after now {NOW}"


def test_last_login_utc_seconds(profiles):
    for profile in profiles:
        login = profile["last_login"]
        where = f"user {profile['user_id']}: last_login {login!r}"
        assert login.utcoffset() == dt.timedelta(0), f"{where} is not in UTC"
        assert login.microsecond == 0, f"{where} is not a whole second"


def test_ages_18_to_90(profiles):
    for profile in profiles:
        age = _age_on(NOW.date(), profile["date_of_birth"])
        assert 18 <= age <= 90, (
            f"user {profile['user_id']}: date_of_birth {profile['date_of_birth']} gives age {age}"
        )


def test_city_state_zip(profiles):
    prefixes = {(city, state): prefix for city, state, prefix, _ in generator.CITIES}
    for profile in profiles:
        place = (profile["city"], profile["state"])
        zip_code = profile["zip_code"]
        where = f"user {profile['user_id']}: {place} zip_code {zip_code!r}"
        assert place in prefixes, f"{where}: the city is not in the state"
        assert re.fullmatch(r"\d{5}", zip_code), f"{where} is not 5 digits"
        assert zip_code.startswith(prefixes[place]), f"{where} lacks prefix {prefixes[place]}"
        assert profile["country"] == "United States", f"{where}: country {profile['country']!r}"


def test_city_table():
    places = [(city, state) for city, state, _, _ in generator.CITIES]
    assert len(set(places)) == len(places), "CITIES lists a city twice"
    assert len(places) >= 60, f"CITIES has only {len(places)} cities"
    for city, state, prefix, area in generator.CITIES:
        assert state in US_STATES, f"CITIES: {city} has state {state!r}, not a US state"
        assert re.fullmatch(r"\d{3}", prefix), f"CITIES: {city} has ZIP prefix {prefix!r}"
        assert re.fullmatch(r"[2-9]\d\d", area), f"CITIES: {city} has area code {area!r}"


def test_pet_fields_together(profiles):
    breeds = {pet_type: (names, oldest) for pet_type, names, oldest in generator.PET_BREEDS}
    for profile in profiles:
        values = [profile[name] for name in PET_FIELDS]
        where = f"user {profile['user_id']}: pet {values}"
        if values[0] is None:
            assert values == [None] * 4, f"{where} is partly None"
            continue
        assert None not in values, f"{where} is partly None"
        names, oldest = breeds[profile["pet_type"]]
        assert profile["pet_breed"] in names, f"{where}: the breed is not a {profile['pet_type']}"
        assert profile["pet_age"] <= oldest, f"{where}: a {profile['pet_type']} is not that old"


def test_vehicle_fields_together(profiles):
    first_years = {(make, model): year for make, model, year in generator.VEHICLES}
    for profile in profiles:
        values = [profile[name] for name in VEHICLE_FIELDS]
        where = f"user {profile['user_id']}: vehicle {values}"
        if values[0] is None:
            assert values == [None] * 4, f"{where} is partly None"
            continue
        assert None not in values, f"{where} is partly None"
        pair = (profile["vehicle_make"], profile["vehicle_model"])
        assert pair in first_years, f"{where}: the make does not build the model"
        assert first_years[pair] <= profile["vehicle_year"] <= NOW.year, (
            f"{where}: the model was not built in that year"
        )
        assert PLATE.match(profile["license_plate_number"]), f"{where}: the plate is malformed"


def test_optional_groups_mixed(profiles):
    for name in ("pet_type", "vehicle_make"):
        present = sum(profile[name] is not None for profile in profiles) / len(profiles)
        assert 0.3 < present < 0.95, f"{name} is set in {present:.0%} of profiles"


def test_identifier_shapes(profiles):
    shapes = (
        ("social_security_number", SSN),
        ("passport_number", PASSPORT),
        ("driver_license_number", DRIVER_LICENSE),
        ("insurance_policy_number", POLICY),
    )
    for profile in profiles:
        for name, shape in shapes:
            assert shape.match(profile[name]), (
                f"user {profile['user_id']}: {name} {profile[name]!r} is malformed"
            )


def test_table_values_plausible(profiles):
    checks = (
        ("occupation", generator.OCCUPATIONS),
        ("favorite_movie", generator.MOVIES),
        ("favorite_food", generator.FOODS),
        ("favorite_sport", generator.SPORTS),
        ("hobby", generator.HOBBIES),
        ("favorite_music_genre", generator.MUSIC_GENRES),
        ("insurance_provider", tuple(name for name, _ in generator.INSURERS)),
    )
    for profile in profiles:
        for name, values in checks:
            assert profile[name] in values, (
                f"user {profile['user_id']}: {name} {profile[name]!r} is not from its table"
            )


def test_fastavro_round_trip(profiles, contract):
    for profile in profiles:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, contract.parsed, profile)
        buffer.seek(0)
        decoded = fastavro.schemaless_reader(buffer, contract.parsed, None)
        for name in contract.field_names:
            assert decoded[name] == profile[name], (
                f"user {profile['user_id']}: {name} {profile[name]!r} decodes as {decoded[name]!r}"
            )


def test_same_seed_same_profiles():
    first = ProfileGenerator(seed=7, now=NOW).batch(1000)
    second = ProfileGenerator(seed=7, now=NOW)
    for index, profile in enumerate(first):
        again = second.next_profile()
        assert again == profile, f"profile {index} differs: {again} != {profile}"


def test_different_seeds_differ():
    first = ProfileGenerator(seed=7, now=NOW).batch(50)
    second = ProfileGenerator(seed=8, now=NOW).batch(50)
    assert first != second, "seeds 7 and 8 gave the same 50 profiles"


def test_new_user_ids_consecutive():
    profiles = ProfileGenerator(seed=3, now=NOW, first_user_id=1000).batch(2000)
    seen: set[int] = set()
    expected = 1000
    for profile in profiles:
        user_id = profile["user_id"]
        if user_id in seen:
            continue
        assert user_id == expected, f"new user_id {user_id}, expected {expected}"
        seen.add(user_id)
        expected += 1


def test_update_share_roughly(profiles):
    updates = PROFILE_COUNT - len({profile["user_id"] for profile in profiles})
    share = updates / PROFILE_COUNT
    assert 0.08 <= share <= 0.12, f"update share {share:.3f}, expected about 0.1"


def test_update_share_zero():
    profiles = ProfileGenerator(seed=3, now=NOW, update_share=0.0).batch(1000)
    user_ids = [profile["user_id"] for profile in profiles]
    assert user_ids == list(range(1, 1001)), f"user_ids with update_share 0 were {user_ids[:20]}…"


def test_update_share_one():
    profiles = ProfileGenerator(seed=3, now=NOW, update_share=1.0).batch(500)
    new_users = len({profile["user_id"] for profile in profiles})
    assert new_users == generator.FIRST_USERS_BEFORE_UPDATES, f"{new_users} users, expected 10"


def test_updates_newer_versions(profiles):
    fixed = ("first_name", "last_name", "email", "date_of_birth", "registration_date", "gender")
    previous: dict[int, dict] = {}
    changed = 0
    for profile in profiles:
        before = previous.get(profile["user_id"])
        previous[profile["user_id"]] = profile
        if before is None:
            continue
        where = f"user {profile['user_id']}"
        assert profile["last_login"] >= before["last_login"], (
            f"{where}: last_login went back from {before['last_login']} to {profile['last_login']}"
        )
        for name in fixed:
            assert profile[name] == before[name], (
                f"{where}: {name} changed from {before[name]!r} to {profile[name]!r}"
            )
        changed += profile != before
    assert changed > 0, "no update changed any field"


def test_updates_ignore_caller_changes():
    profile_generator = ProfileGenerator(seed=5, now=NOW, update_share=0.5)
    for profile in profile_generator.batch(200):
        profile["first_name"] = "Changed"
    for profile in profile_generator.batch(200):
        assert profile["first_name"] != "Changed", (
            f"user {profile['user_id']}: an update copied a caller's change to first_name"
        )


def test_default_now_not_future():
    before = dt.datetime.now(dt.timezone.utc)
    profiles = ProfileGenerator(seed=1).batch(500)
    for profile in profiles:
        assert profile["last_login"] <= before, (
            f"user {profile['user_id']}: last_login {profile['last_login']} is in the future"
        )


def test_seed_none_random():
    first, second = ProfileGenerator(now=NOW), ProfileGenerator(now=NOW)
    assert first.batch(20) != second.batch(20), "two unseeded generators gave the same profiles"


@pytest.mark.parametrize("settings", [
    {"update_share": -0.1},
    {"update_share": 1.5},
    {"update_share": float("nan")},
    {"pool_size": 0},
    {"first_user_id": 0},
    {"first_user_id": 2**31},
    {"now": dt.datetime(2026, 6, 15, 12, 0)},
    {"now": dt.datetime(1989, 1, 1, tzinfo=dt.timezone.utc)},
])
def test_invalid_settings_rejected(settings):
    with pytest.raises(ValueError):
        ProfileGenerator(seed=1, **settings)


def test_batch_negative_count():
    with pytest.raises(ValueError, match="count"):
        ProfileGenerator(seed=1, now=NOW).batch(-1)


def test_user_id_exhausted():
    top = default_contract().field("user_id").maximum
    profile_generator = ProfileGenerator(seed=1, now=NOW, update_share=0.0, first_user_id=top)
    assert profile_generator.next_profile()["user_id"] == top
    with pytest.raises(OverflowError, match="user_id"):
        profile_generator.next_profile()


def test_ascii_fold():
    assert ascii_fold("José O'Brien-Núñez") == "joseobriennunez"
    assert ascii_fold("Zoë") == "zoe"


def test_tables_fit_contract(contract):
    generator.check_tables(contract)
