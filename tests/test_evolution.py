"""Compatibility rules between contract versions and the table changes that follow them."""

from __future__ import annotations

import copy

import pytest

from userstream.contract import parse_contract
from userstream.evolution import (
    Column,
    compatibility_problems,
    is_released,
    normal_type,
    plan_changes,
    release,
    released_versions,
)
from userstream import ddl


@pytest.fixture
def base(contract):
    return contract.schema


def evolve(schema: dict, change) -> dict:
    newer = copy.deepcopy(schema)
    change(newer)
    return newer


def field(schema: dict, name: str) -> dict:
    return next(item for item in schema["fields"] if item["name"] == name)


def problems(new: dict, old: dict):
    return compatibility_problems(parse_contract(new), parse_contract(old), "v1")


def add_referral_code(schema):
    schema["fields"].append({"name": "referral_code", "type": ["null", "string"],
                             "default": None, "maxLength": 20})


def test_optional_field_with_default_is_compatible(base):
    assert problems(evolve(base, add_referral_code), base) == []


def test_widening_max_length_is_compatible(base):
    assert problems(evolve(base, lambda s: field(s, "city").update(maxLength=80)), base) == []


def test_narrowing_max_length_names_field_and_rule(base):
    [problem] = problems(evolve(base, lambda s: field(s, "city").update(maxLength=40)), base)
    assert (problem.field, problem.rule) == ("city", "constraint: maxLength narrowed")


def test_removing_required_field_is_refused(base):
    newer = evolve(base, lambda s: s["fields"].remove(field(s, "city")))
    found = problems(newer, base)
    assert [(p.field, p.rule) for p in found] == [
        ("city", "forward: reader_field_missing_default_value")]


def test_changing_type_is_refused(base):
    newer = evolve(base, lambda s: field(s, "pet_age").update(type=["null", "string"],
                                                              maxLength=3))
    found = problems(newer, base)
    assert {p.field for p in found} == {"pet_age"}
    assert {p.rule.split(":")[0] for p in found} == {"backward", "forward"}


def test_renaming_without_alias_is_refused(base):
    found = problems(evolve(base, lambda s: field(s, "city").update(name="town")), base)
    assert {(p.field, p.rule) for p in found} == {
        ("town", "backward: reader_field_missing_default_value"),
        ("city", "forward: reader_field_missing_default_value")}


def test_adding_enum_symbol_breaks_forward_only(base):
    newer = evolve(base, lambda s: field(s, "subscription_type")["type"]["symbols"]
                   .append("Family"))
    [problem] = problems(newer, base)
    assert (problem.field, problem.rule) == ("subscription_type",
                                             "forward: missing_enum_symbols")


def test_adding_enum_symbol_with_reader_default_is_compatible(base):
    with_default = evolve(base, lambda s: field(s, "subscription_type")["type"]
                          .update(default="Basic"))
    newer = evolve(with_default, lambda s: field(s, "subscription_type")["type"]["symbols"]
                   .append("Family"))
    assert problems(newer, with_default) == []


def test_removing_allowed_value_is_refused(base):
    newer = evolve(base, lambda s: field(s, "blood_type")["allowedValues"].remove("O-"))
    [problem] = problems(newer, base)
    assert (problem.field, problem.rule) == ("blood_type", "constraint: allowed value removed")


def test_raising_minimum_is_refused(base):
    newer = evolve(base, lambda s: field(s, "pet_age").update(minimum=1))
    assert [(p.field, p.rule) for p in problems(newer, base)] == [
        ("pet_age", "constraint: minimum raised")]


def columns_of(contract) -> list[Column]:
    columns = [Column(spec.name, ddl.column_type(spec), spec.nullable)
               for spec in contract.fields]
    columns += [Column("kafka_partition", "int(11)", False),
                Column("kafka_offset", "bigint(20)", False),
                Column("schema_id", "int(11)", False),
                Column("stored_at", "timestamp(3)", False)]
    return columns


def test_table_matching_contract_needs_no_change(contract):
    assert plan_changes(contract, columns_of(contract)) == []


def test_new_field_becomes_nullable_column_after_previous_field(base, contract):
    [change] = plan_changes(parse_contract(evolve(base, add_referral_code)), columns_of(contract))
    assert change.clause.startswith("ADD COLUMN `referral_code` VARCHAR(20) NULL")
    assert change.clause.endswith("AFTER `insurance_policy_number`")
    assert not change.destructive


def test_new_field_with_default_gets_column_default(base, contract):
    def add_tier(schema):
        schema["fields"].append({"name": "tier", "type": "string", "default": "standard",
                                 "maxLength": 10})
    [change] = plan_changes(parse_contract(evolve(base, add_tier)), columns_of(contract))
    assert "`tier` VARCHAR(10) NOT NULL DEFAULT 'standard'" in change.clause
    assert not change.destructive


def test_widened_length_modifies_column(base, contract):
    newer = parse_contract(evolve(base, lambda s: field(s, "city").update(maxLength=80)))
    [change] = plan_changes(newer, columns_of(contract))
    assert change.clause.startswith("MODIFY COLUMN `city` VARCHAR(80) NOT NULL")
    assert not change.destructive


def test_narrowed_length_is_destructive(base, contract):
    newer = parse_contract(evolve(base, lambda s: field(s, "city").update(maxLength=20)))
    [change] = plan_changes(newer, columns_of(contract))
    assert change.destructive


def test_appended_enum_symbol_is_safe_and_removed_one_is_not(base, contract):
    appended = parse_contract(evolve(base, lambda s: field(s, "subscription_type")["type"]
                                     ["symbols"].append("Family")))
    [change] = plan_changes(appended, columns_of(contract))
    assert "ENUM('Basic', 'Premium', 'Enterprise', 'Family')" in change.clause
    assert not change.destructive
    removed = parse_contract(evolve(base, lambda s: field(s, "subscription_type")["type"]
                                    ["symbols"].remove("Basic")))
    [change] = plan_changes(removed, columns_of(contract))
    assert change.destructive


def test_column_missing_from_contract_is_a_destructive_drop(base, contract):
    columns = columns_of(contract) + [Column("legacy", "varchar(10)", True)]
    [change] = plan_changes(contract, columns)
    assert (change.clause, change.destructive) == ("DROP COLUMN `legacy`", True)


def test_integer_display_width_is_ignored():
    assert normal_type("int(11)") == "int"
    assert normal_type("ENUM('Rh-null', 'B')") == "enum('Rh-null','B')"
    assert normal_type("VARCHAR(20)") == "varchar(20)"


def test_release_writes_next_version(tmp_path, contract):
    assert released_versions(tmp_path) == []
    assert release(contract, tmp_path).name == "user.v1.avsc"
    assert is_released(contract, tmp_path)
    newer = parse_contract(evolve(contract.schema, add_referral_code))
    assert not is_released(newer, tmp_path)
    assert release(newer, tmp_path).name == "user.v2.avsc"
    assert [name for name, _ in released_versions(tmp_path)] == ["user.v1.avsc", "user.v2.avsc"]


def test_adding_max_length_to_text_is_refused(base):
    newer = evolve(base, lambda s: field(s, "allergies").update(maxLength=5))
    assert [(p.field, p.rule) for p in problems(newer, base)] == [
        ("allergies", "constraint: maxLength added")]


def test_adding_allowed_values_to_free_text_is_refused(base):
    newer = evolve(base, lambda s: field(s, "city").update(allowedValues=["Boston"]))
    assert [(p.field, p.rule) for p in problems(newer, base)] == [
        ("city", "constraint: allowed values added")]


@pytest.mark.parametrize("avro_type, default, clause", [
    ({"type": "int", "logicalType": "date"}, 19000, "DEFAULT '2022-01-08'"),
    ({"type": "long", "logicalType": "timestamp-millis"}, 0, "DEFAULT '1970-01-01 00:00:00'"),
    ("int", 3, "DEFAULT 3"),
])
def test_new_field_default_in_mysql_form(base, contract, avro_type, default, clause):
    def add(schema):
        schema["fields"].append({"name": "extra", "type": avro_type, "default": default})
    [change] = plan_changes(parse_contract(evolve(base, add)), columns_of(contract))
    assert clause in change.clause
    assert not change.destructive


def test_new_decimal_with_default_needs_nullable(base, contract):
    def add(schema):
        schema["fields"].append({"name": "extra", "type": {
            "type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "default": "\u0000"})
    [change] = plan_changes(parse_contract(evolve(base, add)), columns_of(contract))
    assert "DEFAULT" not in change.clause
    assert change.destructive


def test_union_default_must_match_first_branch(base):
    from userstream.contract import ContractError

    def add(schema):
        schema["fields"].append({"name": "extra", "type": ["null", "string"], "default": "x",
                                 "maxLength": 5})
    with pytest.raises(ContractError, match="first branch"):
        parse_contract(evolve(base, add))


def test_comment_stays_on_one_line(base, contract):
    newer = parse_contract(evolve(base, lambda s: field(s, "city").update(
        doc="City;\nwhere the user lives.")))
    assert ddl.column_definition(newer.field("city")).endswith(
        "COMMENT 'City; where the user lives.'")
